package cache

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// fileIdentity is what stat says about one version of a file.
type fileIdentity struct {
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtime_ns"`
	CtimeNs int64  `json:"ctime_ns,omitempty"`
	Dev     uint64 `json:"dev,omitempty"`
	Ino     uint64 `json:"ino,omitempty"`
	Full    bool   `json:"full,omitempty"` // ctime and inode are known
}

// fileRecord is one entry of the side index: the content hash of a file
// as it was when stat said id.
type fileRecord struct {
	Path     string       `json:"path"`
	ID       fileIdentity `json:"id"`
	Hash     string       `json:"hash"`
	HashedNs int64        `json:"hashed_ns"` // when hashing started
}

// racyWindow is git's "racy clean" rule: a file changed within this long
// before it was hashed may change again without its timestamps moving
// (coarse clocks, same-tick writes), so such a record is never trusted.
// Three seconds also covers file systems with two-second timestamps.
const racyWindow = 3 * time.Second

// filesHashed counts full hashes of files (tests check the shortcut).
var filesHashed atomic.Int64

// hashChunk is the unit of parallel hashing.
const hashChunk = 4 << 20

// FileStamp identifies the version of an input file a key was computed
// from. Before results are stored the file is checked again, so a file
// changed during the run never gets results filed under its old key.
type FileStamp struct {
	Path string
	id   fileIdentity
}

// Changed reports whether the file no longer matches the stamp.
func (s FileStamp) Changed() bool {
	st, err := os.Stat(s.Path)
	if err != nil {
		return true
	}
	return identityOf(st) != s.id
}

// trusted reports whether rec may stand for the file now described by id
// without reading it.
func (rec *fileRecord) trusted(id fileIdentity) bool {
	if !id.Full || !rec.ID.Full || rec.ID != id {
		return false
	}
	newest := max(id.MtimeNs, id.CtimeNs)
	return rec.HashedNs-newest >= int64(racyWindow)
}

func (s *Store) recordPath(abs string) string {
	return filepath.Join(s.dir, filesDir, hex.EncodeToString(sum256([]byte(abs))[:16])+".json")
}

// readFileRecord reads a record of the side index. A missing record is
// fs.ErrNotExist; any other error means the record is damaged.
func readFileRecord(p string) (*fileRecord, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var rec fileRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	if rec.Path == "" || !keyPattern.MatchString(rec.Hash) || len(rec.Hash) != 2*sha256.Size {
		return nil, errors.New("not a file-hash record")
	}
	return &rec, nil
}

// FileKey returns the content key of the file at path: a SHA-256 tree hash
// of its bytes. The side index remembers the hash with the file's size,
// mtime, ctime, inode and device; when all of them still match (and the
// file was not changed just before it was hashed) the file is not read.
//
// Why this cannot give a stale hit on Linux: any write to a file, and any
// metadata change such as `touch -r` restoring the mtime, sets its ctime
// to the current time, which user tools cannot set back; replacing the
// file (cp, mv, editors) gives a new inode. The remaining risks are
// changing the system clock backwards while editing, and writes that
// bypass the file system, and network file systems whose attribute cache
// can show a stale stat for a while; `salesdag cache clear` forgets every
// record. On systems other than Linux the file is always hashed.
func (s *Store) FileKey(ctx context.Context, path string) (string, FileStamp, error) {
	return s.fileKey(ctx, path, nil)
}

// fileKey is FileKey; warn, when set, hears of a damaged index record
// (which is removed, and the file hashed again).
func (s *Store) fileKey(ctx context.Context, path string, warn func(error)) (string, FileStamp, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", FileStamp{}, fmt.Errorf("cache: input %s: %w", path, err)
	}
	return s.indexedHash(ctx, abs, abs, "input "+path, &filesHashed, warn)
}

// indexedHash hashes the regular file at open through the side index,
// whose record for it is filed under name; what names the file in
// messages.
func (s *Store) indexedHash(ctx context.Context, open, name, what string, hashed *atomic.Int64, warn func(error)) (string, FileStamp, error) {
	rp := s.recordPath(name)
	for attempt := 0; ; attempt++ {
		st, err := os.Stat(open)
		if err != nil {
			return "", FileStamp{}, fmt.Errorf("cache: %s: %w", what, err)
		}
		if !st.Mode().IsRegular() {
			// A pipe's stat says nothing about its content, and hashing it
			// would consume the data the run needs.
			return "", FileStamp{}, fmt.Errorf("cache: %s is not a regular file (a pipe or device): its results are not cached", what)
		}
		id := identityOf(st)
		rec, err := readFileRecord(rp)
		switch {
		case err == nil && rec.Path == name && rec.trusted(id):
			now := s.now()
			_ = os.Chtimes(rp, now, now)
			return rec.Hash, FileStamp{open, id}, nil
		case err != nil && !errors.Is(err, fs.ErrNotExist) && attempt == 0:
			// Damaged (truncated, overwritten, unreadable): drop it; the
			// hash below writes a good one.
			action := "removed it"
			if rmErr := os.Remove(rp); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
				action = "could not remove it (" + rmErr.Error() + ")"
			}
			if warn != nil {
				warn(fmt.Errorf("cache: damaged file-hash record %s (%v): %s; %s is hashed again", rp, err, action, what))
			}
		}
		started := s.now()
		hashed.Add(1)
		sum, err := hashFile(ctx, open, st.Size())
		if err != nil {
			return "", FileStamp{}, err
		}
		st2, err := os.Stat(open)
		if err != nil {
			return "", FileStamp{}, fmt.Errorf("cache: %s: %w", what, err)
		}
		if identityOf(st2) != id {
			if attempt < 2 {
				continue // changed while we read it: try again
			}
			return "", FileStamp{}, fmt.Errorf("cache: %s keeps changing while it is hashed", what)
		}
		rec = &fileRecord{Path: name, ID: id, Hash: sum, HashedNs: started.UnixNano()}
		if b, err := json.Marshal(rec); err == nil {
			_ = writeAtomic(rp, b, false) // losing it only costs a re-hash
		}
		return sum, FileStamp{open, id}, nil
	}
}

// hashFile hashes the file in hashChunk pieces on all cores and combines
// the piece digests (see combine).
func hashFile(ctx context.Context, path string, size int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cache: hashing %s: %w", path, err)
	}
	defer f.Close()
	n := int((size + hashChunk - 1) / hashChunk)
	sums := make([][sha256.Size]byte, n)
	workers := min(runtime.GOMAXPROCS(0), max(n, 1))
	var next int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, hashChunk)
			for {
				mu.Lock()
				i := next
				next++
				stop := firstErr != nil
				mu.Unlock()
				if stop || i >= int64(n) {
					return
				}
				err := ctx.Err()
				if err == nil {
					var m int
					m, err = f.ReadAt(buf[:min(hashChunk, size-i*hashChunk)], i*hashChunk)
					if err == io.EOF && int64(m) == min(hashChunk, size-i*hashChunk) {
						err = nil
					}
					sums[i] = sha256.Sum256(buf[:m])
				}
				if err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("cache: hashing %s: %w", path, firstErr)
	}
	return combine(size, sums), nil
}

// combine is the tree hash: SHA-256 over the total size and the digests of
// the hashChunk pieces. The same bytes give the same key whether read from
// a file in parallel or from a stream.
func combine(size int64, sums [][sha256.Size]byte) string {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(size))
	h.Write([]byte("salesdag-content-v1\x00"))
	h.Write(b[:])
	for _, s := range sums {
		h.Write(s[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// HashReader returns the content key of everything r yields (the same key
// FileKey gives a file with those bytes).
func HashReader(ctx context.Context, r io.Reader) (string, error) {
	buf := make([]byte, hashChunk)
	var sums [][sha256.Size]byte
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			sums = append(sums, sha256.Sum256(buf[:n]))
			size += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("cache: hashing input: %w", err)
		}
	}
	return combine(size, sums), nil
}

func sum256(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
