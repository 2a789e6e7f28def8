//go:build unix

package store

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// checkHome tightens a home folder that others may read or enter to 0700
// when it is ours (owned by this user and holding only Latchkey's files),
// and says so; any other is left as it is, with a warning.
func checkHome(home string) []string {
	fi, err := os.Stat(home)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) == os.Getuid() && onlyOurs(home) {
		if ents, _ := os.ReadDir(home); len(ents) == 0 {
			// Nothing in it was ever exposed (a folder made for
			// LATCHKEY_HOME by hand): tightened without a word.
			os.Chmod(home, 0o700)
			return nil
		}
		if err := os.Chmod(home, 0o700); err == nil {
			return []string{fmt.Sprintf("%s was open to other users (%v); it is now 0700", home, fi.Mode().Perm())}
		}
	}
	return []string{fmt.Sprintf("%s is open to other users (%v): they can see which accounts you have; make it 0700 or set LATCHKEY_HOME to a folder of its own", home, fi.Mode().Perm())}
}

// onlyOurs reports whether home holds nothing but Latchkey's own files.
func onlyOurs(home string) bool {
	ents, err := os.ReadDir(home)
	if err != nil {
		return false
	}
	for _, e := range ents {
		n := e.Name()
		switch {
		case n == AccountsFile, n == VaultFile, n == ConfigFile, n == LockFile, n == DesktopFile, n == GenerationFile, n == "keyring-items", n == "server", n == "helpdesk",
			strings.HasPrefix(n, "."), strings.Contains(n, ".corrupt-"):
		default:
			return false
		}
	}
	return true
}
