package history

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// smallStore records n runs and returns the store's path.
func smallStore(t *testing.T, n int) string {
	t.Helper()
	path := storePath(t)
	rec := newRecorder(t, path)
	for i := 0; i < n; i++ {
		runAt(t, rec, idN(i+1), baseTime.Add(time.Duration(i)*time.Minute), StatusComplete)
	}
	closeRecorder(t, rec)
	return path
}

var corruptNameRE = regexp.MustCompile(`^history\.db\.corrupt-\d{8}T\d{6}Z(-\d+)?$`)

// movedAside returns the files a damaged store was moved to.
func movedAside(t *testing.T, path string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		if corruptNameRE.MatchString(e.Name()) {
			out = append(out, filepath.Join(filepath.Dir(path), e.Name()))
		}
	}
	return out
}

// requireRecordsNormally records one more run and finds it, alone, with
// no warning.
func requireRecordsNormally(t *testing.T, path string, want int) {
	t.Helper()
	rec := newRecorder(t, path)
	runAt(t, rec, idN(99), baseTime.Add(time.Hour), StatusComplete)
	closeRecorder(t, rec)
	require.Empty(t, rec.Warnings())
	s := openStore(t, path)
	runs, err := s.List(ListQuery{})
	require.NoError(t, err)
	require.Len(t, runs, want)
	require.Equal(t, idN(99).String(), runs[0].ID)
	require.Empty(t, s.Warnings())
	require.NoError(t, s.Check())
}

type damage struct {
	name string
	do   func(t *testing.T, path string)
}

var damages = []damage{
	{"truncated to 20000 bytes", func(t *testing.T, path string) { require.NoError(t, os.Truncate(path, 20000)) }},
	{"truncated to 5 pages (reads past the end fault)", func(t *testing.T, path string) {
		require.NoError(t, os.Truncate(path, int64(5*os.Getpagesize())))
	}},
	{"truncated to one page", func(t *testing.T, path string) { require.NoError(t, os.Truncate(path, 4096)) }},
	{"garbage over the root page of the events", func(t *testing.T, path string) {
		garbagePage(t, path, pageOf(t, path, bucketEvents))
	}},
	{"garbage over the free list", func(t *testing.T, path string) { garbagePage(t, path, freelistPage(t, path)) }},
	{"not a bbolt file", func(t *testing.T, path string) {
		require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte("not bbolt "), 3000), 0o600))
	}},
}

// garbagePage writes random bytes over page pg.
func garbagePage(t *testing.T, path string, pg int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	junk := make([]byte, os.Getpagesize())
	r := rand.New(rand.NewPCG(uint64(pg), 7))
	for i := range junk {
		junk[i] = byte(r.Uint32())
	}
	_, err = f.WriteAt(junk, int64(pg*os.Getpagesize()))
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// pageOf is the root page of a bucket.
func pageOf(t *testing.T, path string, bucket []byte) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	var pg int
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		pg = int(tx.Bucket(bucket).RootPage())
		return nil
	}))
	require.NotZero(t, pg, "the bucket has a page of its own")
	return pg
}

func freelistPage(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	require.NoError(t, err)
	defer db.Close()
	for pg := 2; ; pg++ {
		var typ string
		require.NoError(t, db.View(func(tx *bolt.Tx) error {
			info, err := tx.Page(pg)
			if info != nil {
				typ = info.Type
			}
			return err
		}))
		if typ == "freelist" {
			return pg
		}
		require.NotEmpty(t, typ, "no freelist page found")
	}
}

// A damaged store is moved aside with one warning, by whichever comes
// first, a query or a run; the next run records normally.
func TestDamagedStoreIsMovedAside(t *testing.T) {
	for _, d := range damages {
		t.Run(d.name+"/query", func(t *testing.T) {
			path := smallStore(t, 30)
			d.do(t, path)
			damaged, err := os.ReadFile(path)
			require.NoError(t, err)

			// A query checks what it reads: the listing, then one run's
			// events. The first read that meets the damage moves the
			// store aside; from then on it is empty.
			s := openStore(t, path)
			_, err = s.List(ListQuery{})
			require.NoError(t, err)
			_, err = s.RawEvents(idN(1))
			require.NoError(t, err)
			runs, err := s.List(ListQuery{})
			require.NoError(t, err)
			require.Empty(t, runs, "the new store is empty")
			moved := movedAside(t, path)
			require.Len(t, moved, 1)
			require.Equal(t, []string{movedWarningFor(t, s.Warnings(), path, moved[0])}, s.Warnings())
			kept, err := os.ReadFile(moved[0])
			require.NoError(t, err)
			require.Equal(t, damaged, kept, "moved aside as it was")
			require.NoError(t, s.Close())

			requireRecordsNormally(t, path, 1)
		})
		t.Run(d.name+"/run", func(t *testing.T) {
			path := smallStore(t, 30)
			d.do(t, path)
			rec := newRecorder(t, path)
			runAt(t, rec, idN(1), baseTime, StatusComplete)
			closeRecorder(t, rec)
			moved := movedAside(t, path)
			require.Len(t, moved, 1)
			require.Equal(t, []string{movedWarningFor(t, rec.Warnings(), path, moved[0])}, rec.Warnings())
			s := openStore(t, path)
			runs, err := s.List(ListQuery{})
			require.NoError(t, err)
			require.Len(t, runs, 1, "the run went into the new store")
			require.Empty(t, s.Warnings())
			require.NoError(t, s.Close())

			requireRecordsNormally(t, path, 2)
		})
	}
}

func movedWarningFor(t *testing.T, warnings []string, path, to string) string {
	t.Helper()
	require.Len(t, warnings, 1)
	require.Regexp(t, `^run history `+regexp.QuoteMeta(path)+` was damaged \(.+\); moved it to `+regexp.QuoteMeta(to)+` and started a new one$`, warnings[0])
	return warnings[0]
}

// Garbage over any one page never crashes: every page of a store, one at
// a time. Either the damage is found (moved aside) or the store still
// answers, skipping what it cannot read; then a run records normally.
func TestGarbageOverAnyPage(t *testing.T) {
	clean := smallStore(t, 12)
	orig, err := os.ReadFile(clean)
	require.NoError(t, err)
	pages := len(orig) / os.Getpagesize()
	require.Greater(t, pages, 4)
	found := 0
	for pg := 0; pg < pages; pg++ {
		path := filepath.Join(t.TempDir(), FileName)
		require.NoError(t, os.WriteFile(path, orig, 0o600))
		garbagePage(t, path, pg)
		s, err := Open(path)
		require.NoError(t, err, "page %d", pg)
		_, err = s.List(ListQuery{})
		require.NoError(t, err, "page %d", pg)
		_, err = s.Events(idN(3))
		require.NoError(t, err, "page %d", pg)
		require.NoError(t, s.Close())
		rec := newRecorder(t, path)
		runAt(t, rec, idN(99), baseTime.Add(time.Hour), StatusComplete)
		closeRecorder(t, rec)
		if len(movedAside(t, path)) == 1 {
			found++
		}
		s = openStore(t, path)
		r, err := s.Get(idN(99))
		require.NoError(t, err, "page %d", pg)
		require.Equal(t, StatusComplete, r.Status)
		require.NoError(t, s.Check(), "page %d", pg)
	}
	// Every page in use is checked; garbage over a free page is harmless,
	// and over a meta page it is healed by the next commit (bbolt writes
	// the two in turn and reads the valid one).
	inUse := pagesInUse(t, clean)
	t.Logf("%d pages, %d in use, damage found on %d", pages, inUse, found)
	require.GreaterOrEqual(t, found, inUse)
}

// pagesInUse counts the branch, leaf and free-list pages of a store.
func pagesInUse(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	require.NoError(t, err)
	defer db.Close()
	n := 0
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		for pg := 2; ; pg++ {
			info, err := tx.Page(pg)
			if err != nil || info == nil {
				return err
			}
			switch info.Type {
			case "branch", "leaf", "freelist":
				n += 1 + info.OverflowCount
			}
		}
	}))
	require.Positive(t, n)
	return n
}

// A store damaged while a recorder has it (between two batches) is moved
// aside at the next write, and the events go to a new store.
func TestStoreDamagedDuringRun(t *testing.T) {
	path := storePath(t)
	rec := newRecorder(t, path)
	runAt(t, rec, idN(1), baseTime, StatusComplete)
	require.NoError(t, rec.Sync(context.Background()))
	require.NoError(t, os.Truncate(path, 20000))
	runAt(t, rec, idN(2), baseTime.Add(time.Minute), StatusComplete)
	closeRecorder(t, rec)
	moved := movedAside(t, path)
	require.Len(t, moved, 1)
	movedWarningFor(t, rec.Warnings(), path, moved[0])
	s := openStore(t, path)
	runs, err := s.List(ListQuery{})
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, idN(2).String(), runs[0].ID)
}

// putRaw writes a value straight into one of the store's buckets.
func putRaw(t *testing.T, path string, bucket, key, val []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(key, val) }))
	require.NoError(t, db.Close())
}

// Unreadable records, written through the store's own layout: queries
// skip them with a warning; Repair drops them (or re-derives a summary
// from its events) and reports it; then nothing is skipped.
func TestUnreadableRecords(t *testing.T) {
	path := smallStore(t, 5)
	// Run 2: its summary is garbage; its events are fine.
	putRaw(t, path, bucketRuns, []byte("bad-key"), []byte("{}")) // not a run key
	badSummary := idN(2)
	putRaw(t, path, bucketRuns, badSummary[:], []byte("{\"id\": garbage"))
	// Run 4: its second event is garbage.
	putRaw(t, path, bucketEvents, eventKey(idN(4), 1), []byte{encFlateDictV1, 0xff, 0x00, 0x13})
	// An index entry too short to name a run.
	putRaw(t, path, bucketByStart, []byte("short"), []byte(StatusComplete))

	s := openStore(t, path)
	runs, err := s.List(ListQuery{})
	require.NoError(t, err)
	require.Len(t, runs, 4, "run 2 is skipped")
	for _, r := range runs {
		require.NotEqual(t, idN(2).String(), r.ID)
	}
	require.Len(t, s.Warnings(), 2)
	for _, w := range s.Warnings() {
		require.Contains(t, w, path)
		require.Contains(t, w, "lineage repair")
	}
	require.Contains(t, s.Warnings()[1], "skipped run "+idN(2).String())

	evs, err := s.Events(idN(4))
	require.NoError(t, err)
	require.Len(t, evs, 3, "one of the four is skipped")
	require.Contains(t, s.Warnings()[2], "skipped event 1 of run "+idN(4).String())
	d, err := s.Detail(idN(2))
	require.NoError(t, err, "show re-derives the summary from the events")
	require.Equal(t, StatusComplete, d.Run.Status)
	require.NoError(t, s.Close())

	rep, err := Repair(context.Background(), path)
	require.NoError(t, err)
	require.Equal(t, 5, rep.Runs)
	require.Equal(t, 19, rep.Events)
	require.Equal(t, []string{idN(2).String()}, rep.Rebuilt)
	kinds := map[string]int{}
	for _, d := range rep.Dropped {
		kinds[d.Kind]++
	}
	require.Equal(t, map[string]int{"event": 1, "index entry": 1, "record": 1}, kinds)
	for _, d := range rep.Dropped {
		if d.Kind == "event" {
			require.Equal(t, idN(4).String(), d.Run)
			require.Equal(t, 1, *d.Seq)
		}
	}

	s = openStore(t, path)
	runs, err = s.List(ListQuery{})
	require.NoError(t, err)
	require.Len(t, runs, 5)
	evs, err = s.Events(idN(4))
	require.NoError(t, err)
	require.Len(t, evs, 3)
	require.Empty(t, s.Warnings())
	require.NoError(t, s.Check())
	require.NoError(t, s.Close())

	again, err := Repair(context.Background(), path)
	require.NoError(t, err)
	require.Empty(t, again.Dropped)
	require.Empty(t, again.Rebuilt)
	requireRecordsNormally(t, path, 6)
}

// Repair of a store damaged as a whole moves it aside.
func TestRepairMovesDamagedStoreAside(t *testing.T) {
	path := smallStore(t, 3)
	require.NoError(t, os.Truncate(path, 20000))
	rep, err := Repair(context.Background(), path)
	require.NoError(t, err)
	moved := movedAside(t, path)
	require.Len(t, moved, 1)
	require.Equal(t, moved[0], rep.MovedTo)
	require.NotEmpty(t, rep.Damage)
	requireRecordsNormally(t, path, 1)

	_, err = Repair(context.Background(), filepath.Join(t.TempDir(), FileName))
	require.ErrorIs(t, err, ErrNoHistory)
}

func TestCorruptName(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	at := time.Date(2026, 12, 5, 6, 7, 8, 0, time.UTC)
	require.Equal(t, p+".corrupt-20261205T060708Z", corruptName(p, at))
	require.NoError(t, os.WriteFile(p+".corrupt-20261205T060708Z", nil, 0o600))
	require.Equal(t, p+".corrupt-20261205T060708Z-2", corruptName(p, at))
}
