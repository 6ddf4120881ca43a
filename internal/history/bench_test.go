package history

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

const benchRuns = 5000

// benchStore records benchRuns runs of the toy pipeline (node-level
// column lineage and checks included, one in 50 failed) directly in
// batches of 100 runs per transaction, as if 5000 `salesdag run`s had
// happened a minute apart.
func benchStore(b *testing.B) string {
	b.Helper()
	path := storePath(b)
	db, err := openWrite(path, time.Second)
	require.NoError(b, err)
	defer db.Close()
	var items []item
	flush := func() {
		require.NoError(b, writeBatch(db, items, "bench", os.Getpid()))
		items = items[:0]
	}
	for i := 0; i < benchRuns; i++ {
		col := &lineagetest.Recorder{}
		o := runOpts{start: baseTime.Add(time.Duration(i) * time.Minute), nodeLineage: true, checks: true}
		if i%50 == 7 {
			o.failAt = "daily"
		}
		_, _ = trackedRun(b, col, o)
		for _, e := range col.Events() {
			items = append(items, item{data: e})
		}
		if i%100 == 99 {
			flush()
		}
	}
	flush()
	return path
}

func BenchmarkQueries(b *testing.B) {
	path := benchStore(b)
	if fi, err := os.Stat(path); err == nil {
		b.Logf("store: %d runs, %.1f MiB", benchRuns, float64(fi.Size())/(1<<20))
	}
	b.Run("runs--limit-20", func(b *testing.B) {
		for b.Loop() {
			s, err := Open(path)
			require.NoError(b, err)
			runs, err := s.List(ListQuery{Limit: 20})
			require.NoError(b, err)
			require.Len(b, runs, 20)
			require.NoError(b, s.Close())
		}
	})
	b.Run("runs--limit-20--status-fail", func(b *testing.B) {
		for b.Loop() {
			s, err := Open(path)
			require.NoError(b, err)
			runs, err := s.List(ListQuery{Limit: 20, Statuses: []Status{StatusFail}})
			require.NoError(b, err)
			require.Len(b, runs, 20)
			require.NoError(b, s.Close())
		}
	})
	b.Run("runs-all-5000", func(b *testing.B) {
		for b.Loop() {
			s, err := Open(path)
			require.NoError(b, err)
			runs, err := s.List(ListQuery{})
			require.NoError(b, err)
			require.Len(b, runs, benchRuns)
			require.NoError(b, s.Close())
		}
	})
	b.Run("show-prefix", func(b *testing.B) {
		s, err := Open(path)
		require.NoError(b, err)
		runs, err := s.List(ListQuery{Limit: 1000})
		require.NoError(b, err)
		ref := runs[999].ShortID
		require.NoError(b, s.Close())
		for b.Loop() {
			s, err := Open(path)
			require.NoError(b, err)
			id, err := s.Resolve(ref)
			require.NoError(b, err)
			_, err = s.Detail(id)
			require.NoError(b, err)
			require.NoError(b, s.Close())
		}
	})
	b.Run("column-latest", func(b *testing.B) {
		d := toyDAG(b, runOpts{})
		for b.Loop() {
			s, err := Open(path)
			require.NoError(b, err)
			_, err = s.Column("weekly_total", ColumnQuery{DAG: d})
			require.NoError(b, err)
			require.NoError(b, s.Close())
		}
	})
}

// BenchmarkRecordRun is the cost of recording one whole run (15 events)
// in a store that already has 5000, through the Recorder: what a
// `salesdag run` pays, in the background, at most.
func BenchmarkRecordRun(b *testing.B) {
	path := benchStore(b)
	for b.Loop() {
		rec, err := OpenRecorder(path, RecorderOptions{})
		require.NoError(b, err)
		_, _ = trackedRun(b, rec, runOpts{start: time.Now().UTC(), nodeLineage: true, checks: true})
		require.NoError(b, rec.Close(context.Background()))
	}
}

// BenchmarkCheck measures the checks of guard.go on a store of benchRuns
// runs, each on a fresh open as a command pays it: bbolt's open alone,
// the cheap check (every query, every write), the walk over every key,
// and the full check (walk and tx.Check: the first batch of a run's
// events, and a query that bbolt failed on).
func BenchmarkCheck(b *testing.B) {
	path := benchStore(b)
	if fi, err := os.Stat(path); err == nil {
		b.Logf("store: %d runs, %.1f MiB", benchRuns, float64(fi.Size())/(1<<20))
	}
	open := func(b *testing.B) *bolt.DB {
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
		require.NoError(b, err)
		return db
	}
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			require.NoError(b, open(b).Close())
		}
	})
	b.Run("open+cheap", func(b *testing.B) {
		for b.Loop() {
			db := open(b)
			require.NoError(b, checkDB(db, false))
			require.NoError(b, db.Close())
		}
	})
	b.Run("open+walk", func(b *testing.B) {
		for b.Loop() {
			db := open(b)
			require.NoError(b, db.View(walkAll))
			require.NoError(b, db.Close())
		}
	})
	b.Run("open+full", func(b *testing.B) {
		for b.Loop() {
			db := open(b)
			require.NoError(b, checkDB(db, true))
			require.NoError(b, db.Close())
		}
	})
}
