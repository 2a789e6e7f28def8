// Package e2e holds the desktop app's end-to-end tests and start-up
// benchmark: they build the real latchkey-desktop binary, start it on an X
// display (Xvfb under `make test`) with a temporary HOME and a seeded file
// store, and look at what it draws. It is a package of its own so that the
// GL build it needs never slows the other packages' tests.
package e2e
