package script

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// lockVersion is the lock file format version.
const lockVersion = 1

// lockJSON is the lock file: {"version": 1, "remote": {URL: sha256 hex}}.
type lockJSON struct {
	Version int               `json:"version"`
	Remote  map[string]string `json:"remote"`
}

// lockFile is the lock file, read once and rewritten on change.
type lockFile struct {
	path   string
	mu     sync.Mutex
	remote map[string]string
}

// ReadLockFile reads a lock file and returns its URL to SHA-256 (hex)
// map.
func ReadLockFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- the operator's configured lock file
	if err != nil {
		return nil, fmt.Errorf("read lock file: %w", err)
	}
	var l lockJSON
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("read lock file %s: %w", path, err)
	}
	if l.Version != lockVersion {
		return nil, fmt.Errorf("read lock file %s: version %d, want %d", path, l.Version, lockVersion)
	}
	if l.Remote == nil {
		l.Remote = make(map[string]string)
	}
	return l.Remote, nil
}

// openLockFile reads the lock file; a missing one is empty when create is
// set.
func openLockFile(path string, create bool) (*lockFile, error) {
	m, err := ReadLockFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		m, err = make(map[string]string), nil
	}
	if err != nil {
		return nil, err
	}
	return &lockFile{path: path, remote: m}, nil
}

func (l *lockFile) get(url string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.remote[url]
	return h, ok
}

// set records url's hash and rewrites the file if that changed it.
func (l *lockFile) set(url, hash string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.remote[url] == hash {
		return false, nil
	}
	l.remote[url] = hash
	b, err := json.MarshalIndent(lockJSON{Version: lockVersion, Remote: l.remote}, "", "  ")
	if err != nil {
		return false, fmt.Errorf("write lock file %s: %w", l.path, err)
	}
	if err := writeFileAtomic(l.path, append(b, '\n')); err != nil {
		return false, fmt.Errorf("write lock file: %w", err)
	}
	return true, nil
}

// writeFileAtomic writes b to a temporary file beside path and renames it
// over path, so readers never see a partial file.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return nil
}
