package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/manifest"
)

// errNoManifest means no configured folder, and no .mediasync directory above the file, covers it.
var errNoManifest = errors.New("no manifest covers this file")

// located is a file's place: its folder, that folder's manifest, and its path relative to the folder.
type located struct {
	folder, manifest, rel string
}

// locate finds the manifest that records path: from the configuration when one is found, else from a
// .mediasync directory in the file's directory or above it (so posting scripts need no config).
func (a *app) locate(path string) (located, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return located{}, err
	}
	if cfgPath, err := config.Find(a.configPath); err == nil {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return located{}, err
		}
		if f, ok := folderHolding(cfg.Folders, abs); ok {
			rel, _ := relTo(f.Path, abs)
			return located{f.Path, f.Manifest, rel}, nil
		}
	} else if a.configPath != "" {
		return located{}, err
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		m := manifest.DefaultPath(dir)
		if _, err := os.Stat(m); err == nil {
			rel, _ := relTo(dir, abs)
			return located{dir, m, rel}, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return located{}, err
		}
		if parent := filepath.Dir(dir); parent == dir {
			break
		}
	}
	return located{}, fmt.Errorf("%s: %w", path, errNoManifest)
}

// relTo returns p's manifest key in the folder dir, if p lies inside dir (manifest.Rel).
func relTo(dir, p string) (string, bool) {
	rel, err := manifest.Rel(dir, p)
	return rel, err == nil
}
