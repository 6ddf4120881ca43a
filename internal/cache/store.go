package cache

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/salesdag/salesdag/internal/fsutil"
)

// FormatVersion is the version of the entry file layout. It is part of
// every key, so entries written by another layout are never read.
const FormatVersion = 1

// DefaultDir is where `salesdag run --cache` keeps its cache.
const DefaultDir = ".salesdag/cache"

const (
	magic       = "SDAGCACH"
	prefixLen   = 8 + 4 + 4 + 4 // magic, version, header length, header CRC
	maxHeader   = 1 << 20
	tagFile     = "CACHEDIR.TAG"
	tagContent  = "Signature: 8a477f597d28d172789f06886806bc55\n# This directory is a cache created by salesdag (`salesdag cache clear` empties it).\n# For information about cache directory tags see https://bford.info/cachedir/\n"
	entriesDir  = "entries"
	filesDir    = "files"
	tmpPrefix   = ".tmp-"
	entrySuffix = ".entry"
	staleTemp   = time.Hour // temp files older than this are leftovers of a crash
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrNotFound is returned by Get when there is no entry for a node and key.
var ErrNotFound = errors.New("cache: no entry")

// CorruptError is an entry that exists but cannot be trusted: truncated,
// altered, or written for something else. Readers treat it as a miss.
type CorruptError struct {
	Path   string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("cache: damaged entry %s (%s)", e.Path, e.Reason)
}

// Header describes an entry. It is stored in front of the payload.
type Header struct {
	Node    string    `json:"node"`
	Key     string    `json:"key"`
	Type    string    `json:"type"`  // Go type of the value
	Codec   string    `json:"codec"` // codec that wrote the payload
	Created time.Time `json:"created"`
	Size    int64     `json:"size"`            // payload bytes
	CRC32C  uint32    `json:"crc32c"`          // of the payload
	Input   string    `json:"input,omitempty"` // the run's input, as Options.Input names it (listings only)
}

// Store is a directory of cache entries, safe for concurrent use by several
// goroutines and processes: entries are written to a temporary file and
// renamed into place, so a reader sees a whole entry or none, and every
// read checks the payload's checksum.
type Store struct {
	dir      string
	sync     bool
	noCreate bool
	now      func() time.Time
}

// StoreOption configures Open.
type StoreOption func(*Store)

// NoCreate makes Open fail (with an error wrapping fs.ErrNotExist) when
// the directory does not exist, instead of creating it: `cache ls`,
// `prune` and `clear` should not create a cache where there is none.
func NoCreate() StoreOption { return func(s *Store) { s.noCreate = true } }

// Open opens the cache directory dir, creating it (with a CACHEDIR.TAG, so
// that backup tools skip it) when needed.
func Open(dir string, opts ...StoreOption) (*Store, error) {
	dir = cmp.Or(dir, DefaultDir)
	s := &Store{dir: dir, sync: true, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.noCreate {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("cache: no cache at %s: %w", dir, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("cache: %s is not a directory", dir)
		}
		return s, nil
	}
	for _, sub := range []string{entriesDir, filesDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("cache: creating cache directory %s: %w (choose another with --cache DIR)", dir, err)
		}
	}
	tag := filepath.Join(dir, tagFile)
	if _, err := os.Stat(tag); errors.Is(err, fs.ErrNotExist) {
		if err := writeAtomic(tag, []byte(tagContent), false); err != nil {
			return nil, fmt.Errorf("cache: writing %s: %w", tag, err)
		}
	}
	return s, nil
}

var keyPattern = regexp.MustCompile(`^[0-9a-f]{16,128}$`)
var nodePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$`)

// nodeDir maps a node name to a directory name; odd names are hashed so
// they cannot escape the cache directory.
func nodeDir(node string) string {
	if nodePattern.MatchString(node) {
		return node
	}
	return "x-" + hex.EncodeToString(sum256([]byte(node))[:8])
}

func (s *Store) path(node, key string) (string, error) {
	if !keyPattern.MatchString(key) {
		return "", fmt.Errorf("cache: invalid key %q for node %s", key, node)
	}
	return filepath.Join(s.dir, entriesDir, nodeDir(node), key+entrySuffix), nil
}

// Has reports whether an entry file exists (without validating it).
func (s *Store) Has(node, key string) bool {
	p, err := s.path(node, key)
	if err != nil {
		return false
	}
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// Put writes an entry atomically and returns the bytes written. h.Size,
// h.CRC32C and h.Created are filled in here.
func (s *Store) Put(h Header, payload []byte) (int64, error) {
	p, err := s.path(h.Node, h.Key)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return 0, fmt.Errorf("cache: creating %s: %w", filepath.Dir(p), err)
	}
	h.Size = int64(len(payload))
	h.CRC32C = crc32Checksum(payload)
	h.Created = s.now().UTC()
	hdr, err := json.Marshal(h)
	if err != nil {
		return 0, fmt.Errorf("cache: encoding header for %s: %w", h.Node, err)
	}
	var pre [prefixLen]byte
	copy(pre[:], magic)
	binary.LittleEndian.PutUint32(pre[8:], FormatVersion)
	binary.LittleEndian.PutUint32(pre[12:], uint32(len(hdr)))
	binary.LittleEndian.PutUint32(pre[16:], crc32Checksum(hdr))
	n := int64(prefixLen + len(hdr) + len(payload))
	err = writeAtomicFunc(p, s.sync, func(w io.Writer) error {
		for _, b := range [][]byte{pre[:], hdr, payload} {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("cache: writing entry for %s: %w", h.Node, err)
	}
	return n, nil
}

// Get reads and validates the entry for node and key. It returns
// ErrNotFound when there is none and a *CorruptError when it cannot be
// trusted. A successful read marks the entry as used (for pruning).
func (s *Store) Get(node, key string) (Header, []byte, error) {
	p, err := s.path(node, key)
	if err != nil {
		return Header{}, nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Header{}, nil, ErrNotFound
	}
	if err != nil {
		return Header{}, nil, fmt.Errorf("cache: opening %s: %w", p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Header{}, nil, fmt.Errorf("cache: %w", err)
	}
	h, err := readHeader(f, p, st.Size())
	if err != nil {
		return Header{}, nil, err
	}
	if h.Node != node || h.Key != key {
		return Header{}, nil, &CorruptError{p, fmt.Sprintf("it holds node %q key %.12s", h.Node, h.Key)}
	}
	payload := make([]byte, h.Size)
	if _, err := io.ReadFull(f, payload); err != nil {
		return Header{}, nil, &CorruptError{p, "payload: " + err.Error()}
	}
	if crc32Checksum(payload) != h.CRC32C {
		return Header{}, nil, &CorruptError{p, "payload checksum mismatch"}
	}
	now := s.now()
	_ = os.Chtimes(p, now, now) // last use, for LRU pruning; best effort
	return h, payload, nil
}

// readHeader reads and checks the prefix and header; size is the file size.
func readHeader(r io.Reader, p string, size int64) (Header, error) {
	var pre [prefixLen]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return Header{}, &CorruptError{p, "truncated before the header"}
	}
	if string(pre[:8]) != magic {
		return Header{}, &CorruptError{p, "not a salesdag cache entry"}
	}
	if v := binary.LittleEndian.Uint32(pre[8:]); v != FormatVersion {
		return Header{}, &CorruptError{p, fmt.Sprintf("format version %d, want %d", v, FormatVersion)}
	}
	hl := binary.LittleEndian.Uint32(pre[12:])
	if hl > maxHeader || int64(hl) > size-prefixLen {
		return Header{}, &CorruptError{p, "header length out of range"}
	}
	hdr := make([]byte, hl)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return Header{}, &CorruptError{p, "truncated header"}
	}
	if crc32Checksum(hdr) != binary.LittleEndian.Uint32(pre[16:]) {
		return Header{}, &CorruptError{p, "header checksum mismatch"}
	}
	var h Header
	if err := json.Unmarshal(hdr, &h); err != nil {
		return Header{}, &CorruptError{p, "header: " + err.Error()}
	}
	if want := int64(prefixLen) + int64(hl) + h.Size; h.Size < 0 || want != size {
		return Header{}, &CorruptError{p, fmt.Sprintf("file has %d bytes, header says %d", size, want)}
	}
	return h, nil
}

// Entry is one cache entry as `salesdag cache ls` shows it.
type Entry struct {
	Header
	Path     string    `json:"path"`
	Bytes    int64     `json:"bytes"`             // file size
	LastUsed time.Time `json:"last_used"`         // last write or hit
	Corrupt  string    `json:"corrupt,omitempty"` // why the entry is unreadable ("" when fine)
}

// List returns every entry, most recently used first.
func (s *Store) List() ([]Entry, error) {
	var out []Entry
	root := filepath.Join(s.dir, entriesDir)
	dirs, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cache: listing %s: %w", root, err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(root, d.Name()))
		if err != nil {
			return nil, fmt.Errorf("cache: listing %s: %w", d.Name(), err)
		}
		for _, f := range files {
			if !strings.HasSuffix(f.Name(), entrySuffix) || strings.HasPrefix(f.Name(), tmpPrefix) {
				continue
			}
			p := filepath.Join(root, d.Name(), f.Name())
			e, err := statEntry(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue // pruned by someone else meanwhile
			}
			if err != nil {
				return nil, err
			}
			if e.Node == "" {
				e.Node = d.Name()
				e.Key = strings.TrimSuffix(f.Name(), entrySuffix)
			}
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(b.LastUsed.Compare(a.LastUsed), strings.Compare(a.Path, b.Path))
	})
	return out, nil
}

func statEntry(p string) (Entry, error) {
	f, err := os.Open(p)
	if err != nil {
		return Entry{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Path: p, Bytes: st.Size(), LastUsed: st.ModTime()}
	h, err := readHeader(f, p, st.Size())
	var ce *CorruptError
	switch {
	case errors.As(err, &ce):
		e.Corrupt = ce.Reason
	case err != nil:
		return Entry{}, err
	default:
		e.Header = h
	}
	return e, nil
}

// PruneOptions selects what Prune removes. Zero values disable a rule.
type PruneOptions struct {
	OlderThan time.Duration // remove entries not used for this long
	MaxSize   int64         // then remove least recently used entries until the total fits
}

// PruneReport says what Prune or Clear did.
type PruneReport struct {
	Removed      []Entry
	RemovedBytes int64
	Kept         int
	KeptBytes    int64
}

// Prune removes entries unused for longer than o.OlderThan, then the least
// recently used ones until the cache holds at most o.MaxSize bytes.
// Corrupt entries and leftovers of interrupted writes always go.
func (s *Store) Prune(o PruneOptions) (PruneReport, error) {
	if o.OlderThan < 0 || o.MaxSize < 0 {
		return PruneReport{}, errors.New("cache: prune limits must not be negative")
	}
	entries, err := s.List()
	if err != nil {
		return PruneReport{}, err
	}
	now := s.now()
	var rep PruneReport
	var keep []Entry
	var total int64
	for _, e := range entries { // most recently used first
		if e.Corrupt != "" || (o.OlderThan > 0 && now.Sub(e.LastUsed) > o.OlderThan) {
			if err := s.remove(e, &rep); err != nil {
				return rep, err
			}
			continue
		}
		keep = append(keep, e)
		total += e.Bytes
	}
	for o.MaxSize > 0 && total > o.MaxSize && len(keep) > 0 {
		e := keep[len(keep)-1] // least recently used
		keep = keep[:len(keep)-1]
		total -= e.Bytes
		if err := s.remove(e, &rep); err != nil {
			return rep, err
		}
	}
	rep.Kept, rep.KeptBytes = len(keep), total
	if err := s.sweep(now, o.OlderThan); err != nil {
		return rep, err
	}
	return rep, nil
}

func (s *Store) remove(e Entry, rep *PruneReport) error {
	if err := os.Remove(e.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cache: removing %s: %w", e.Path, err)
	}
	rep.Removed = append(rep.Removed, e)
	rep.RemovedBytes += e.Bytes
	return nil
}

// sweep removes stale temporary files, empty node directories and file
// hash records unused for olderThan (or whose file is gone).
func (s *Store) sweep(now time.Time, olderThan time.Duration) error {
	root := filepath.Join(s.dir, entriesDir)
	dirs, _ := os.ReadDir(root)
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dp := filepath.Join(root, d.Name())
		files, _ := os.ReadDir(dp)
		left := 0
		for _, f := range files {
			if strings.HasPrefix(f.Name(), tmpPrefix) {
				if info, err := f.Info(); err == nil && now.Sub(info.ModTime()) > staleTemp {
					_ = os.Remove(filepath.Join(dp, f.Name()))
					continue
				}
			}
			left++
		}
		if left == 0 {
			_ = os.Remove(dp) // fails harmlessly if a writer just added a file
		}
	}
	fdir := filepath.Join(s.dir, filesDir)
	recs, _ := os.ReadDir(fdir)
	for _, r := range recs {
		p := filepath.Join(fdir, r.Name())
		info, err := r.Info()
		if err != nil {
			continue
		}
		stale := strings.HasPrefix(r.Name(), tmpPrefix) && now.Sub(info.ModTime()) > staleTemp
		if olderThan > 0 && now.Sub(info.ModTime()) > olderThan {
			stale = true
		}
		if !stale {
			if rec, err := readFileRecord(p); err == nil {
				if _, err := os.Stat(rec.Path); errors.Is(err, fs.ErrNotExist) {
					stale = true
				}
			}
		}
		if stale {
			_ = os.Remove(p)
		}
	}
	return nil
}

// Clear removes every entry and file hash record. It refuses to touch a
// directory that is not a salesdag cache.
func (s *Store) Clear() (PruneReport, error) {
	if b, err := os.ReadFile(filepath.Join(s.dir, tagFile)); err != nil || !bytes.Contains(b, []byte("salesdag")) {
		return PruneReport{}, fmt.Errorf("cache: %s has no salesdag CACHEDIR.TAG; refusing to delete it (remove it by hand if it is really a cache)", s.dir)
	}
	entries, err := s.List()
	if err != nil {
		return PruneReport{}, err
	}
	var rep PruneReport
	for _, e := range entries {
		rep.Removed = append(rep.Removed, e)
		rep.RemovedBytes += e.Bytes
	}
	for _, sub := range []string{entriesDir, filesDir} {
		p := filepath.Join(s.dir, sub)
		if err := os.RemoveAll(p); err != nil {
			return rep, fmt.Errorf("cache: clearing %s: %w", p, err)
		}
		if err := os.MkdirAll(p, 0o700); err != nil {
			return rep, fmt.Errorf("cache: clearing %s: %w", p, err)
		}
	}
	return rep, nil
}

// writeAtomic writes b to path through a temporary file and a rename,
// synced when sync is set.
func writeAtomic(path string, b []byte, sync bool) error {
	return writeAtomicFunc(path, sync, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

func writeAtomicFunc(path string, sync bool, write func(io.Writer) error) error {
	_, err := fsutil.WriteFile(path, fsutil.Options{Prefix: tmpPrefix, Perm: 0o600, NoSync: !sync}, write)
	return err
}

func crc32Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
