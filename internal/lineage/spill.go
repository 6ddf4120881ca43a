package lineage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/salesdag/salesdag/internal/fsutil"
)

// errInUse marks an outbox file that a running emitter still owns.
var errInUse = errors.New("in use by a running salesdag")

// spillState is an emitter's own outbox file (guarded by its spillMu). While the emitter runs, the
// file is locked (flock), so that Flush leaves it alone: its events may
// still be delivered by the emitter itself. A killed process's lock goes
// with it, and the file is then an ordinary outbox file.
type spillState struct {
	path  string   // "" until the file exists
	f     *os.File // open, locked, appending
	dirty bool     // an append failed: settle rewrites from memory
}

// create makes the emitter's file (OutboxName's, or a fresh variant when
// that is taken), locks it and writes lines to it durably. The file is
// created and locked under the outbox directory lock, which Flush holds
// while it checks a file, so Flush never sees it unlocked.
func (s *spillState) create(dir, name string, lines [][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create outbox directory %s: %w", dir, err)
	}
	unlock, err := fsutil.Lock(context.Background(), filepath.Join(dir, outboxLock), false)
	if err != nil {
		return fmt.Errorf("lock outbox %s: %w", dir, err)
	}
	defer unlock()
	path := outboxFile(dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if errors.Is(err, fs.ErrExist) {
		path = outboxFile(dir, name+"-"+NewRunID().String())
		f, err = os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	}
	if err != nil {
		return fmt.Errorf("open outbox %s: %w", path, err)
	}
	if err := fsutil.Flock(f, fsutil.Exclusive, false); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("lock outbox %s: %w", path, err)
	}
	s.path, s.f = path, f
	if err := s.write(lines); err != nil {
		s.dirty = true
		return err
	}
	fsutil.SyncDir(dir)
	return nil
}

// write appends lines in one write and syncs them.
func (s *spillState) write(lines [][]byte) error {
	if _, err := s.f.Write(joinLines(lines)); err != nil {
		return fmt.Errorf("write outbox %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("sync outbox %s: %w", s.path, err)
	}
	return nil
}

// add appends lines to the file, creating it first if needed.
func (s *spillState) add(dir, name string, lines [][]byte) error {
	if s.path == "" {
		return s.create(dir, name, lines)
	}
	if s.dirty {
		return nil // settle rewrites the file from memory
	}
	if err := s.write(lines); err != nil {
		s.dirty = true
		return err
	}
	return nil
}

// settle leaves the file holding exactly lines (removed when there are
// none) and releases it. It returns the file's path.
func (s *spillState) settle(dir, name string, lines [][]byte) (string, error) {
	if s.path == "" {
		if len(lines) == 0 {
			return "", nil
		}
		if err := s.create(dir, name, lines); err != nil {
			s.release()
			return "", err
		}
		return s.path, s.release()
	}
	defer s.release()
	if len(lines) == 0 {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("remove delivered events from outbox %s: %w", s.path, err)
		}
		fsutil.SyncDir(dir)
		return "", nil
	}
	want := joinLines(lines)
	if have, err := os.ReadFile(s.path); err == nil && !s.dirty && bytes.Equal(have, want) {
		return s.path, nil
	}
	// Replace the file atomically: until the rename it still holds every
	// undelivered event (and perhaps some delivered since).
	if err := writeOutbox(s.path, want); err != nil {
		return "", fmt.Errorf("rewrite outbox: %w", err)
	}
	return s.path, nil
}

// release closes the file, which drops its lock.
func (s *spillState) release() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("close outbox %s: %w", s.path, err)
	}
	return nil
}

// fileInUse reports whether a running emitter holds path's lock. The
// caller holds the outbox directory lock.
func fileInUse(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := fsutil.Flock(f, fsutil.Exclusive, false); err != nil {
		return true
	}
	return false
}
