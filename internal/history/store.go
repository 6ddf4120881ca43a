package history

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/salesdag/salesdag/internal/fsutil"
	"github.com/salesdag/salesdag/internal/lineage"
)

// EnvHome names the directory that holds salesdag's local state.
const EnvHome = "SALESDAG_HOME"

// EnvCeiling lists directories (separated as in PATH) that the search for
// a .salesdag directory does not go up into, as GIT_CEILING_DIRECTORIES
// does for git: a stray /tmp/.salesdag is not found from /tmp/work when
// /tmp is a ceiling.
const EnvCeiling = "SALESDAG_CEILING_DIRECTORIES"

// DefaultHome is the state directory when $SALESDAG_HOME is not set,
// relative to the working directory.
const DefaultHome = ".salesdag"

// FileName is the history database's name inside the state directory.
const FileName = "history.db"

// fillPercent is how full bbolt fills a page before splitting it.
const fillPercent = 0.9

// schemaVersion is the layout described in the package comment.
const schemaVersion = "1"

var (
	bucketMeta    = []byte("meta")
	bucketRuns    = []byte("runs")
	bucketEvents  = []byte("events")
	bucketByStart = []byte("by_start")
	keySchema     = []byte("schema")
	// bucketUndecodable keeps events that could not be decoded (none should).
	bucketUndecodable = []byte("undecodable")
)

// Home returns the state directory (history, cache, outbox), with getenv
// the process environment: $SALESDAG_HOME; else the nearest .salesdag directory in the working
// directory or one of its parents, as git finds .git, so that every
// folder of a project shares one history; else .salesdag in the working
// directory, where the first run creates it. It is relative (".salesdag")
// when it is the working directory's own. The search does not go up into
// a directory listed in $SALESDAG_CEILING_DIRECTORIES.
func Home(getenv func(string) string) string {
	h, _ := locateHome(getenv)
	return h
}

// HomeSearch says where Home looked when it found no .salesdag directory
// ("no .salesdag directory in /a/b or its parents"), for messages about
// an empty history; "" when $SALESDAG_HOME is set or one was found.
func HomeSearch(getenv func(string) string) string {
	if _, found := locateHome(getenv); found {
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		wd = "the working directory"
	}
	return fmt.Sprintf("no %s directory in %s or its parents", DefaultHome, wd)
}

func locateHome(getenv func(string) string) (home string, found bool) {
	if h := getenv(EnvHome); h != "" {
		return h, true
	}
	wd, err := os.Getwd()
	if err != nil {
		return DefaultHome, false
	}
	var ceilings []string
	for _, c := range filepath.SplitList(getenv(EnvCeiling)) {
		if filepath.IsAbs(c) {
			ceilings = append(ceilings, filepath.Clean(c))
		}
	}
	for dir := wd; ; {
		if st, err := os.Stat(filepath.Join(dir, DefaultHome)); err == nil && st.IsDir() {
			if dir == wd {
				return DefaultHome, true
			}
			return filepath.Join(dir, DefaultHome), true
		}
		parent := filepath.Dir(dir)
		if parent == dir || slices.Contains(ceilings, parent) {
			return DefaultHome, false
		}
		dir = parent
	}
}

// DefaultPath is the history database in Home.
func DefaultPath(getenv func(string) string) string { return filepath.Join(Home(getenv), FileName) }

// ErrNoHistory is returned when the store has not been created yet.
var ErrNoHistory = errors.New("no runs recorded yet")

// pathLocks serialises writers of one file inside this process, so that
// they queue on a mutex instead of polling bbolt's file lock (which it
// retries only every 50 ms). Other processes are kept out by the file lock.
var pathLocks sync.Map // absolute path -> *sync.Mutex

func lockPath(path string) func() {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	m, _ := pathLocks.LoadOrStore(abs, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// lockFile takes the writers' lock of the store: an exclusive flock on
// path+".lock", waited for in the kernel. bbolt's own lock is retried
// only every 50 ms, so under steady contention a waiting process could
// starve; a blocked flock is woken as soon as the holder lets go. The
// wait ends with ctx. Where flock is not available, bbolt's own file lock
// keeps writers apart.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	unlock, err = fsutil.Lock(ctx, path+".lock", false)
	switch {
	case err == nil:
		return unlock, nil
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return nil, fmt.Errorf("history: another salesdag is writing %s (%w): %w", path, err, bolterrors.ErrTimeout)
	default:
		return nil, fmt.Errorf("history: %w", err)
	}
}

// openWriteChecked is openWrite, with the full check of guard.go when
// full, and the file it found damaged.
func openWriteChecked(path string, timeout time.Duration, full bool) (*bolt.DB, os.FileInfo, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, fmt.Errorf("history: create directory for %s: %w", path, err)
	}
	db, fi, err := openDB(path, bolt.Options{Timeout: timeout, FreelistType: bolt.FreelistMapType}, full)
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			return nil, fi, err
		}
		return nil, fi, fmt.Errorf("history: open %s for writing: %w", path, err)
	}
	return db, fi, nil
}

// isLockTimeout reports whether err means another process holds the store.
func isLockTimeout(err error) bool { return errors.Is(err, bolterrors.ErrTimeout) }

// initBuckets creates the buckets and checks the layout version.
func initBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketRuns, bucketEvents, bucketByStart} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("history: create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	if meta.Get(keySchema) == nil {
		return meta.Put(keySchema, []byte(schemaVersion))
	}
	return checkLayout(tx)
}

// checkLayout fails for a store of another layout version.
func checkLayout(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return nil
	}
	if v := meta.Get(keySchema); v != nil && string(v) != schemaVersion {
		return fmt.Errorf("history: store layout version %q, this salesdag reads %q; use a matching salesdag or move the store away", v, schemaVersion)
	}
	return nil
}

func eventKey(run uuid.UUID, seq int) []byte {
	k := make([]byte, 16+8)
	copy(k, run[:])
	binary.BigEndian.PutUint64(k[16:], uint64(seq))
	return k
}

func startKey(start time.Time, run uuid.UUID) []byte {
	k := make([]byte, 8+16)
	binary.BigEndian.PutUint64(k, uint64(start.UnixNano()))
	copy(k[8:], run[:])
	return k
}

// item is one queued write: an event, or a piece of extra run info.
type item struct {
	data []byte    // encoded event; nil for info
	run  uuid.UUID // root run of info
	key  string
	val  string
}

// batchWriter applies items inside one transaction, caching the summaries
// it touched.
type batchWriter struct {
	tx     *bolt.Tx
	runs   map[uuid.UUID]*Run
	before map[uuid.UUID]indexEntry
	order  []uuid.UUID
	host   string
	pid    int
}

type indexEntry struct {
	start  time.Time
	status Status
	exists bool
}

func newBatchWriter(tx *bolt.Tx, host string, pid int) *batchWriter {
	return &batchWriter{tx: tx, runs: map[uuid.UUID]*Run{}, before: map[uuid.UUID]indexEntry{}, host: host, pid: pid}
}

func (w *batchWriter) run(id uuid.UUID) (*Run, error) {
	if r, ok := w.runs[id]; ok {
		return r, nil
	}
	r := &Run{}
	ie := indexEntry{}
	if v := w.tx.Bucket(bucketRuns).Get(id[:]); v != nil {
		if err := json.Unmarshal(v, r); err != nil {
			return nil, fmt.Errorf("history: summary of run %s is unreadable: %w", id, err)
		}
		ie = indexEntry{start: r.Start, status: r.Status, exists: true}
	} else {
		r.ID = id.String()
		r.Host, r.PID = w.host, w.pid
	}
	w.runs[id] = r
	w.before[id] = ie
	w.order = append(w.order, id)
	return r, nil
}

func (w *batchWriter) add(it item) error {
	if it.data == nil {
		r, err := w.run(it.run)
		if err != nil {
			return err
		}
		if r.Info == nil {
			r.Info = map[string]string{}
		}
		r.Info[it.key] = it.val
		return nil
	}
	var ev lineage.RunEvent
	if err := json.Unmarshal(it.data, &ev); err != nil {
		// Emit encoded it, so this cannot happen; keep the bytes anyway
		// rather than lose an audit record.
		b, berr := w.tx.CreateBucketIfNotExists(bucketUndecodable)
		if berr != nil {
			return fmt.Errorf("history: keep undecodable event (%v): %w", err, berr)
		}
		id := lineage.NewRunID()
		return b.Put(id[:], it.data)
	}
	root, _ := rootOf(&ev)
	r, err := w.run(root)
	if err != nil {
		return err
	}
	enc, err := compressEvent(it.data)
	if err != nil {
		return err
	}
	events := w.tx.Bucket(bucketEvents)
	// Keys mostly grow (time-ordered run ids, then sequence numbers):
	// full pages waste less space than the default half-full splits.
	events.FillPercent = fillPercent
	if err := events.Put(eventKey(root, r.Events), enc); err != nil {
		return fmt.Errorf("history: store event of run %s: %w", root, err)
	}
	r.apply(&ev)
	return nil
}

// finish writes the touched summaries and their index entries.
func (w *batchWriter) finish() error {
	runs, idx := w.tx.Bucket(bucketRuns), w.tx.Bucket(bucketByStart)
	runs.FillPercent, idx.FillPercent = fillPercent, fillPercent
	for _, id := range w.order {
		r := w.runs[id]
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("history: encode summary of run %s: %w", id, err)
		}
		if err := runs.Put(id[:], b); err != nil {
			return fmt.Errorf("history: store summary of run %s: %w", id, err)
		}
		old := w.before[id]
		if old.exists && old.start.Equal(r.Start) && old.status == r.Status {
			continue
		}
		if old.exists && !old.start.Equal(r.Start) {
			if err := idx.Delete(startKey(old.start, id)); err != nil {
				return fmt.Errorf("history: re-index run %s: %w", id, err)
			}
		}
		if err := idx.Put(startKey(r.Start, id), []byte(r.Status)); err != nil {
			return fmt.Errorf("history: index run %s: %w", id, err)
		}
	}
	return nil
}

// writeBatch records items in one transaction.
func writeBatch(db *bolt.DB, items []item, host string, pid int) error {
	return db.Update(func(tx *bolt.Tx) error {
		if err := initBuckets(tx); err != nil {
			return err
		}
		w := newBatchWriter(tx, host, pid)
		for _, it := range items {
			if err := w.add(it); err != nil {
				return err
			}
		}
		return w.finish()
	})
}
