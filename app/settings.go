package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"latchkey/app/ui"
	"latchkey/core/atomicfile"
)

// settingsFile reads and writes ui.Settings in one JSON file, replaced
// atomically and readable by its owner only.
type settingsFile struct{ path string }

// load returns the saved settings; a file not written yet is the
// defaults.
func (f settingsFile) load() (ui.Settings, error) {
	var s ui.Settings
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return ui.Settings{}, fmt.Errorf("%s: %w", f.path, err)
	}
	return s, nil
}

// save replaces the file with s, creating the folder (0700) if needed.
func (f settingsFile) save(s ui.Settings) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(f.path, append(data, '\n'), 0o600)
}
