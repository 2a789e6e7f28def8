// Package e2e holds the desktop app's end-to-end tests and benchmarks
// (start-up; sign-in approvals: bc-authorize to the card on screen, idle
// CPU and memory with the listener and without): they build the real
// latchkey-desktop binary, start it on an X display (Xvfb under `make
// test`) with a temporary HOME and a seeded or paired file store, and look
// at what it draws. It is a package of its own so that the GL build it
// needs never slows the other packages' tests.
package e2e
