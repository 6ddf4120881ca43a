package history

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

func TestRecordTrackedRun(t *testing.T) {
	cases := []struct {
		name       string
		opts       runOpts
		wantStatus Status
		wantNodes  map[string]Status
		wantErr    string
		wantOuts   int
	}{
		{name: "success", wantStatus: StatusComplete, wantOuts: 3,
			wantNodes: map[string]Status{"raw": StatusComplete, "clean": StatusComplete, "daily": StatusComplete, "quality": StatusComplete, "weekly": StatusComplete}},
		{name: "node failure", opts: runOpts{failAt: "clean"}, wantStatus: StatusFail, wantErr: "unparsable amount",
			wantNodes: map[string]Status{"raw": StatusComplete, "clean": StatusFail}},
		{name: "interrupted", opts: runOpts{blockAt: "clean", cancel: true}, wantStatus: StatusAbort, wantErr: "context canceled",
			wantNodes: map[string]Status{"raw": StatusComplete, "clean": StatusAbort}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := storePath(t)
			rec := newRecorder(t, path)
			col := &lineagetest.Recorder{}
			tc.opts.extraSink = col
			id, _ := trackedRun(t, rec, tc.opts)
			closeRecorder(t, rec)

			s := openStore(t, path)
			runs, err := s.List(ListQuery{})
			require.NoError(t, err)
			require.Len(t, runs, 1)
			r := runs[0]
			require.Equal(t, id.String(), r.ID)
			require.Equal(t, tc.wantStatus, r.Status)
			require.Equal(t, jobName, r.Job)
			require.Equal(t, "test", r.Namespace)
			require.Equal(t, []string{inputPath}, r.Inputs)
			require.Len(t, r.Outputs, tc.wantOuts)
			require.Equal(t, baseTime.Add(time.Millisecond), r.Start)
			require.Positive(t, r.Duration())
			require.Equal(t, len(col.Events()), r.Events)
			if tc.wantErr != "" {
				require.Contains(t, r.Error, tc.wantErr)
			} else {
				require.Empty(t, r.Error)
			}
			got := map[string]Status{}
			for _, n := range r.Nodes {
				got[n.Name] = n.Status
				require.False(t, n.Start.IsZero(), n.Name)
				if n.Status.Terminal() {
					require.Positive(t, n.Duration(), n.Name)
				}
			}
			require.Equal(t, tc.wantNodes, got)

			// The store keeps the very bytes the emitter got, in order.
			raw, err := s.RawEvents(id)
			require.NoError(t, err)
			require.Len(t, raw, len(col.Events()))
			for i := range raw {
				require.JSONEq(t, string(col.Events()[i]), string(raw[i]))
			}
			require.NoError(t, s.Check())
		})
	}
}

// runAt records one synthetic run: a root START at start, one node, and a
// terminal event (none for RUNNING).
func runAt(t testing.TB, rec *Recorder, id uuid.UUID, start time.Time, status Status) {
	t.Helper()
	root := lineage.RunRef{Namespace: "test", Name: jobName, RunID: id}
	rootEv := func(typ lineage.EventType, at time.Time) *lineage.RunEvent {
		ev := lineage.NewRunEvent(typ, lineage.Run{RunID: id}, lineage.Job{Namespace: "test", Name: jobName})
		ev.EventTime = at
		ev.Job.Facets.JobType = lineage.NewJobTypeJobFacet(lineage.JobTypeDAG)
		if typ == lineage.EventStart {
			ev.Inputs = []lineage.InputDataset{{Dataset: lineage.Dataset{Namespace: lineage.FileNamespace, Name: inputPath}}}
		}
		if typ == lineage.EventComplete {
			ev.Outputs = []lineage.OutputDataset{{Dataset: lineage.Dataset{Namespace: lineage.FileNamespace, Name: outDir + "/daily.csv"}}}
		}
		if typ == lineage.EventFail {
			ev.Run.Facets.ErrorMessage = lineage.NewErrorMessageRunFacet(errors.New("node clean: boom"))
		}
		return ev
	}
	nodeID := lineage.NewRunID()
	nodeEv := func(typ lineage.EventType, at time.Time) *lineage.RunEvent {
		ev := lineage.NewRunEvent(typ, lineage.Run{RunID: nodeID}, lineage.Job{Namespace: "test", Name: jobName + ".clean"})
		ev.EventTime = at
		ev.Run.Facets.Parent = lineage.NewParentRunFacet(root, nil)
		ev.Job.Facets.JobType = lineage.NewJobTypeJobFacet(lineage.JobTypeTask)
		return ev
	}
	require.NoError(t, rec.Emit(rootEv(lineage.EventStart, start)))
	require.NoError(t, rec.Emit(nodeEv(lineage.EventStart, start.Add(time.Millisecond))))
	switch status {
	case StatusRunning, StatusIncomplete:
		return
	case StatusComplete:
		require.NoError(t, rec.Emit(nodeEv(lineage.EventComplete, start.Add(5*time.Millisecond))))
	default:
		require.NoError(t, rec.Emit(nodeEv(lineage.EventType(status), start.Add(5*time.Millisecond))))
	}
	require.NoError(t, rec.Emit(rootEv(lineage.EventType(status), start.Add(10*time.Millisecond))))
}

func idN(n int) uuid.UUID {
	return uuid.MustParse("0199a1b2-0000-7000-8000-" + strings.Repeat("0", 8) + string("0123456789abcdef"[n/16]) + string("0123456789abcdef"[n%16]) + "00")
}

func TestListFiltersAndLimits(t *testing.T) {
	path := storePath(t)
	rec := newRecorder(t, path)
	statuses := []Status{StatusComplete, StatusFail, StatusComplete, StatusAbort, StatusComplete, StatusRunning, StatusFail}
	for i, st := range statuses {
		runAt(t, rec, idN(i), baseTime.Add(time.Duration(i)*time.Minute), st)
	}
	closeRecorder(t, rec)
	s := openStore(t, path)
	s.alive = func(int) bool { return true }

	cases := []struct {
		name string
		q    ListQuery
		want []int // run numbers, newest first
	}{
		{name: "all", q: ListQuery{}, want: []int{6, 5, 4, 3, 2, 1, 0}},
		{name: "limit", q: ListQuery{Limit: 3}, want: []int{6, 5, 4}},
		{name: "failed", q: ListQuery{Statuses: []Status{StatusFail}}, want: []int{6, 1}},
		{name: "complete limit 2", q: ListQuery{Limit: 2, Statuses: []Status{StatusComplete}}, want: []int{4, 2}},
		{name: "fail or abort", q: ListQuery{Statuses: []Status{StatusFail, StatusAbort}}, want: []int{6, 3, 1}},
		{name: "running", q: ListQuery{Statuses: []Status{StatusRunning}}, want: []int{5}},
		{name: "incomplete while alive", q: ListQuery{Statuses: []Status{StatusIncomplete}}, want: []int{}},
		{name: "limit larger than store", q: ListQuery{Limit: 100, Statuses: []Status{StatusAbort}}, want: []int{3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runs, err := s.List(tc.q)
			require.NoError(t, err)
			got := []int{}
			for _, r := range runs {
				for i := range statuses {
					if r.ID == idN(i).String() {
						got = append(got, i)
					}
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
	n, err := s.Count()
	require.NoError(t, err)
	require.Equal(t, len(statuses), n)

	runs, err := s.List(ListQuery{Limit: 1, Statuses: []Status{StatusFail}})
	require.NoError(t, err)
	require.Equal(t, "node clean: boom", runs[0].Error)
	require.Equal(t, 10*time.Millisecond, runs[0].Duration())
	require.Equal(t, []string{inputPath}, runs[0].Inputs)
	require.Empty(t, runs[0].Outputs)
}

func TestParseStatus(t *testing.T) {
	cases := map[string]Status{
		"complete": StatusComplete, "COMPLETED": StatusComplete, "ok": StatusComplete,
		"fail": StatusFail, "Failed": StatusFail, "abort": StatusAbort, "aborted": StatusAbort,
		"running": StatusRunning, "incomplete": StatusIncomplete, " crashed ": StatusIncomplete,
	}
	for in, want := range cases {
		got, ok := ParseStatus(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	_, ok := ParseStatus("done-ish")
	require.False(t, ok)
}

func TestResolve(t *testing.T) {
	path := storePath(t)
	rec := newRecorder(t, path)
	ids := []uuid.UUID{
		uuid.MustParse("0199a1b2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"),
		uuid.MustParse("0199a1b2-3c4e-7000-8000-000000000001"),
		uuid.MustParse("0199a1b2-3c4e-7000-8000-000000000002"),
		uuid.MustParse("01aa0000-0000-7000-8000-000000000000"),
	}
	for i, id := range ids {
		runAt(t, rec, id, baseTime.Add(time.Duration(i)*time.Second), StatusComplete)
	}
	closeRecorder(t, rec)
	s := openStore(t, path)

	cases := []struct {
		ref     string
		want    uuid.UUID
		errIs   error
		amb     int
		errText string
	}{
		{ref: ids[0].String(), want: ids[0]},
		{ref: "0199a1b2-3c4d", want: ids[0]},
		{ref: "0199a1b23c4d", want: ids[0]},
		{ref: "0199A1B2-3C4D", want: ids[0]},
		{ref: "0199a1b23c4d7", want: ids[0]}, // odd number of digits
		{ref: "01a", want: ids[3]},
		{ref: "latest", want: ids[3]},
		{ref: "0199a1b2-3c4e-7000-8000-000000000002", want: ids[2]},
		{ref: "0199a1b2", amb: 3},
		{ref: "0199a1b2-3c4e", amb: 2},
		{ref: "0", amb: 4},
		{ref: "02", errIs: ErrNotFound},
		{ref: "ffff", errIs: ErrNotFound},
		{ref: "xyz", errText: "is not a run id"},
		{ref: "", errText: "is not a run id"},
		{ref: strings.Repeat("a", 33), errText: "is not a run id"},
	}
	for _, tc := range cases {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := s.Resolve(tc.ref)
			switch {
			case tc.amb > 0:
				var amb *AmbiguousError
				require.ErrorAs(t, err, &amb)
				require.Len(t, amb.Candidates, tc.amb)
				require.Contains(t, err.Error(), "is ambiguous")
				require.Contains(t, err.Error(), amb.Candidates[0].ID)
			case tc.errIs != nil:
				require.ErrorIs(t, err, tc.errIs)
				require.Contains(t, err.Error(), tc.ref)
			case tc.errText != "":
				require.ErrorContains(t, err, tc.errText)
			default:
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
			}
		})
	}

	// Short ids are the shortest unique prefixes, at least 8 digits.
	runs, err := s.List(ListQuery{})
	require.NoError(t, err)
	short := map[string]string{}
	for _, r := range runs {
		short[r.ID] = r.ShortID
	}
	require.Equal(t, map[string]string{
		ids[0].String(): "0199a1b2-3c4d",
		ids[1].String(): "0199a1b2-3c4e-7000-8000-000000000001",
		ids[2].String(): "0199a1b2-3c4e-7000-8000-000000000002",
		ids[3].String(): "01aa0000",
	}, short)
	for id, sh := range short {
		got, err := s.Resolve(sh)
		require.NoError(t, err)
		require.Equal(t, id, got.String())
	}
}

func TestAmbiguousErrorListsAtMostTen(t *testing.T) {
	path := storePath(t)
	rec := newRecorder(t, path)
	for i := 0; i < 12; i++ {
		runAt(t, rec, idN(i), baseTime.Add(time.Duration(i)*time.Second), StatusComplete)
	}
	closeRecorder(t, rec)
	s := openStore(t, path)
	_, err := s.Resolve("0199")
	var amb *AmbiguousError
	require.ErrorAs(t, err, &amb)
	require.Len(t, amb.Candidates, maxCandidates)
	require.True(t, amb.More)
	require.Contains(t, err.Error(), ", ...; type more of the id")
}

func TestPartialRunIsRunningOrIncomplete(t *testing.T) {
	path := storePath(t)
	rec := newRecorder(t, path)
	// A run that crashed before its end: the tracker never finished it.
	id, err := trackedRun(t, rec, runOpts{skipFinish: true})
	require.NoError(t, err)
	closeRecorder(t, rec)

	cases := []struct {
		name  string
		alive bool
		want  Status
	}{
		{name: "its process is alive", alive: true, want: StatusRunning},
		{name: "its process is gone", alive: false, want: StatusIncomplete},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, path)
			s.alive = func(pid int) bool {
				require.Equal(t, os.Getpid(), pid)
				return tc.alive
			}
			r, err := s.Get(id)
			require.NoError(t, err)
			require.Equal(t, tc.want, r.Status)
			require.True(t, r.End.IsZero())
			require.Zero(t, r.Duration())
			require.Len(t, r.Nodes, 5)
			runs, err := s.List(ListQuery{Statuses: []Status{tc.want}})
			require.NoError(t, err)
			require.Len(t, runs, 1)
		})
	}
	// A live process of ours really is alive; pid 0 is never a run.
	require.True(t, processAlive(os.Getpid()))
	require.False(t, processAlive(0))
}

func TestAnnotateAndClose(t *testing.T) {
	path := storePath(t)
	rec := newRecorder(t, path)
	require.Equal(t, path, rec.Path())
	id, err := trackedRun(t, rec, runOpts{rec: rec, info: map[string]string{"output_dir": "out", "args": "--workers 2"}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, rec.Sync(ctx))
	closeRecorder(t, rec)
	require.NoError(t, rec.Close(ctx), "a second Close returns the first result")
	require.ErrorIs(t, rec.Emit(lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: id}, lineage.Job{Name: "x"})), ErrRecorderClosed)
	require.ErrorIs(t, rec.Annotate(id, "k", "v"), ErrRecorderClosed)

	s := openStore(t, path)
	r, err := s.Get(id)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"output_dir": "out", "args": "--workers 2"}, r.Info)
	host, _ := os.Hostname()
	require.Equal(t, host, r.Host)
	require.Equal(t, os.Getpid(), r.PID)

	_, err = s.Get(uuid.New())
	require.ErrorIs(t, err, ErrNotFound)
}

func TestEmitRejectsUnencodableEvent(t *testing.T) {
	rec := newRecorder(t, storePath(t))
	ev := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Name: "x"})
	ev.EventTime = time.Time{}
	require.ErrorContains(t, rec.Emit(ev), "no eventTime")
	require.ErrorContains(t, rec.Emit(nil), "nil event")
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	t.Run("missing store", func(t *testing.T) {
		_, err := Open(filepath.Join(dir, "none", FileName))
		require.ErrorIs(t, err, ErrNoHistory)
		require.ErrorContains(t, err, EnvHome)
	})
	t.Run("empty file is an empty store", func(t *testing.T) {
		p := filepath.Join(dir, "empty.db")
		require.NoError(t, os.WriteFile(p, nil, 0o600))
		s := openStore(t, p)
		runs, err := s.List(ListQuery{Limit: 20})
		require.NoError(t, err)
		require.Empty(t, runs)
		_, err = s.Resolve("latest")
		require.ErrorIs(t, err, ErrNotFound)
		_, err = s.Resolve("0199")
		require.ErrorIs(t, err, ErrNotFound)
		n, err := s.Count()
		require.NoError(t, err)
		require.Zero(t, n)
		r, err := s.Latest(func(*Run) bool { return true })
		require.NoError(t, err)
		require.Nil(t, r)
		evs, err := s.RawEvents(uuid.New())
		require.NoError(t, err)
		require.Empty(t, evs)
		require.NoError(t, s.Check())
		require.NoError(t, s.Close())
	})
	t.Run("not a database", func(t *testing.T) {
		p := filepath.Join(dir, "junk.db")
		require.NoError(t, os.WriteFile(p, []byte(strings.Repeat("not bbolt ", 1000)), 0o600))
		// Damaged local state never blocks a query: moved aside, with a
		// warning (damage_test.go has the details).
		s, err := Open(p)
		require.NoError(t, err)
		runs, err := s.List(ListQuery{})
		require.NoError(t, err)
		require.Empty(t, runs)
		require.Len(t, s.Warnings(), 1)
		require.Contains(t, s.Warnings()[0], p+" was damaged")
		require.NoFileExists(t, p)
	})
	t.Run("recorder in a directory that cannot exist", func(t *testing.T) {
		file := filepath.Join(dir, "a-file")
		require.NoError(t, os.WriteFile(file, nil, 0o600))
		_, err := OpenRecorder(filepath.Join(file, "sub", FileName), RecorderOptions{})
		require.ErrorContains(t, err, "create directory")
	})
	t.Run("newer layout", func(t *testing.T) {
		p := filepath.Join(dir, "future.db")
		db, err := bolt.Open(p, 0o600, nil)
		require.NoError(t, err)
		require.NoError(t, db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucketMeta)
			if err != nil {
				return err
			}
			return b.Put(keySchema, []byte("99"))
		}))
		require.NoError(t, db.Close())
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		rec := &Recorder{path: p, opts: RecorderOptions{LockTimeout: 20 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}}
		err = rec.writeWithRetry(ctx, nil, 1)
		require.ErrorContains(t, err, `layout version "99"`)
	})
}

func TestDefaultPath(t *testing.T) {
	env := func(home string) func(string) string {
		return func(k string) string {
			if k == EnvHome {
				return home
			}
			return ""
		}
	}
	require.Equal(t, filepath.Join(DefaultHome, FileName), DefaultPath(env("")))
	dir := t.TempDir()
	require.Equal(t, filepath.Join(dir, FileName), DefaultPath(env(dir)))
	rec, err := OpenRecorder(DefaultPath(env(dir)), RecorderOptions{})
	require.NoError(t, err)
	runAt(t, rec, idN(1), baseTime, StatusComplete)
	require.NoError(t, rec.Close(context.Background()))
	s, err := Open(DefaultPath(env(dir)))
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, filepath.Join(dir, FileName), s.Path())
	r, err := s.Get(idN(1))
	require.NoError(t, err)
	require.Equal(t, StatusComplete, r.Status)
}

// While another process holds the store, events wait in memory; they are
// written as soon as it lets go, and Close with a short deadline reports
// what it could not write.
func TestLockContention(t *testing.T) {
	path := storePath(t)
	rec := newRecorder(t, path)
	var logged []string
	rec.opts.Logf = func(f string, a ...any) { logged = append(logged, f) }

	// Hold the write lock as another salesdag would (a second open file
	// description: bbolt's flock excludes it like another process).
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	runAt(t, rec, idN(1), baseTime, StatusComplete)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	err = rec.Sync(ctx)
	cancel()
	require.ErrorContains(t, err, "not yet recorded")
	require.NoError(t, db.Close())

	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, rec.Sync(ctx))
	require.NotEmpty(t, logged)

	// Another writer holds the writers' lock file: the batch waits in the
	// kernel and goes in as soon as it is released.
	unlock, err := lockFile(context.Background(), path)
	require.NoError(t, err)
	runAt(t, rec, idN(3), baseTime.Add(2*time.Minute), StatusAbort)
	ctx3, cancel3 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	require.ErrorContains(t, rec.Sync(ctx3), "not yet recorded")
	cancel3()
	unlock()
	require.NoError(t, rec.Sync(ctx))
	ctx4, cancel4 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel4()
	_, err = lockFile(ctx4, filepath.Join(t.TempDir(), "no", "such", "dir", FileName))
	require.ErrorContains(t, err, "open lock file")

	// Now hold it through Close.
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	runAt(t, rec, idN(2), baseTime.Add(time.Minute), StatusFail)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel2()
	start := time.Now()
	err = rec.Close(ctx2)
	require.Less(t, time.Since(start), 10*time.Second, "Close must respect its deadline")
	require.ErrorContains(t, err, "4 event(s) not recorded")
	require.ErrorContains(t, err, "timeout")
	require.ErrorContains(t, rec.Sync(context.Background()), "not yet recorded")
	require.NoError(t, db.Close())

	s := openStore(t, path)
	runs, err := s.List(ListQuery{})
	require.NoError(t, err)
	require.Len(t, runs, 2)
	require.Equal(t, idN(3).String(), runs[0].ID)
	require.Equal(t, idN(1).String(), runs[1].ID)
}

func TestReaderWaitsForWriterAndReportsLock(t *testing.T) {
	path := storePath(t)
	rec := newRecorder(t, path)
	runAt(t, rec, idN(1), baseTime, StatusComplete)
	closeRecorder(t, rec)
	// A store whose events are all there decodes as it was written.
	s := openStore(t, path)
	evs, err := s.Events(idN(1))
	require.NoError(t, err)
	require.Len(t, evs, 4)
	require.Equal(t, lineage.EventStart, evs[0].EventType)
	b, err := json.Marshal(evs[3])
	require.NoError(t, err)
	require.Contains(t, string(b), `"eventType":"COMPLETE"`)
}

func TestEventCompression(t *testing.T) {
	ev := []byte(`{"eventType":"START","producer":"https://github.com/salesdag/salesdag"}`)
	enc, err := compressEvent(ev)
	require.NoError(t, err)
	require.Equal(t, encFlateDictV1, enc[0])
	cases := []struct {
		name    string
		stored  []byte
		want    []byte
		wantErr string
	}{
		{name: "compressed", stored: enc, want: ev},
		{name: "plain JSON", stored: ev, want: ev},
		{name: "empty", stored: nil, wantErr: "empty event record"},
		{name: "unknown encoding", stored: []byte{9, 1, 2}, wantErr: "unknown encoding 9"},
		{name: "truncated", stored: enc[:len(enc)/2], wantErr: "decompress event"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decompressEvent(tc.stored)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// Under an orchestrator the root run has a parent facet too (naming the
// orchestrator's job); it must stay a root run, and its nodes its own.
func TestOrchestratedRun(t *testing.T) {
	path := storePath(t)
	rec := newRecorder(t, path)
	orch := &lineage.ParentContext{
		Parent: lineage.RunRef{Namespace: "airflow", Name: "sales.run_salesdag", RunID: uuid.MustParse("01900000-0000-7000-8000-0000000000aa")},
		Root:   &lineage.RunRef{Namespace: "airflow", Name: "sales", RunID: uuid.MustParse("01900000-0000-7000-8000-0000000000bb")},
	}
	id, err := trackedRun(t, rec, runOpts{parent: orch})
	require.NoError(t, err)
	closeRecorder(t, rec)
	s := openStore(t, path)
	runs, err := s.List(ListQuery{})
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, id.String(), runs[0].ID)
	require.Equal(t, jobName, runs[0].Job)
	require.Len(t, runs[0].Nodes, 5)
	require.Equal(t, StatusComplete, runs[0].Status)
}

// Events may reach the store before the root START (a sink that
// reorders): the run's start, and its place in the index, follow the
// START when it comes.
func TestStartArrivesLate(t *testing.T) {
	path := storePath(t)
	rec := newRecorder(t, path)
	id := idN(7)
	root := lineage.RunRef{Namespace: "test", Name: jobName, RunID: id}
	node := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Namespace: "test", Name: jobName + ".raw"})
	node.EventTime = baseTime.Add(5 * time.Millisecond)
	node.Run.Facets.Parent = lineage.NewParentRunFacet(root, nil)
	require.NoError(t, rec.Emit(node))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, rec.Sync(ctx))
	start := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: id}, lineage.Job{Namespace: "test", Name: jobName})
	start.EventTime = baseTime
	require.NoError(t, rec.Emit(start))
	closeRecorder(t, rec)

	s := openStore(t, path)
	s.alive = func(int) bool { return true }
	r, err := s.Get(id)
	require.NoError(t, err)
	require.Equal(t, baseTime, r.Start)
	require.Equal(t, jobName, r.Job)
	require.Equal(t, StatusRunning, r.Status)
	n := 0
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketByStart).ForEach(func(k, _ []byte) error { n++; return nil })
	}))
	require.Equal(t, 1, n, "the index entry moved, not duplicated")
}

func TestRootOf(t *testing.T) {
	rootID := lineage.NewRunID()
	parent := lineage.RunRef{Namespace: "ns", Name: "job", RunID: rootID}
	mk := func(name string, p *lineage.ParentRunFacet, jobType string) *lineage.RunEvent {
		ev := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Namespace: "ns", Name: name})
		ev.Run.Facets.Parent = p
		if jobType != "" {
			ev.Job.Facets.JobType = lineage.NewJobTypeJobFacet(jobType)
		}
		return ev
	}
	bad := lineage.NewParentRunFacet(parent, nil)
	bad.Run.RunID = "not-a-uuid"
	cases := []struct {
		name     string
		ev       *lineage.RunEvent
		wantRoot bool // the event is its own root
		wantNode string
	}{
		{name: "root without parent", ev: mk("job", nil, ""), wantRoot: true},
		{name: "node by name", ev: mk("job.clean", lineage.NewParentRunFacet(parent, nil), ""), wantNode: "clean"},
		{name: "node by job type", ev: mk("other", lineage.NewParentRunFacet(parent, nil), lineage.JobTypeTask), wantNode: "other"},
		{name: "root under an orchestrator", ev: mk("sales_data_pipeline", lineage.NewParentRunFacet(parent, nil), lineage.JobTypeDAG), wantRoot: true},
		{name: "unparsable parent id", ev: mk("job.clean", bad, ""), wantRoot: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root, node := rootOf(tc.ev)
			if tc.wantRoot {
				require.Equal(t, tc.ev.Run.RunID, root)
			} else {
				require.Equal(t, rootID, root)
			}
			require.Equal(t, tc.wantNode, node)
		})
	}
}

func TestNilRecorderRecordsNothing(t *testing.T) {
	var rec *Recorder
	ev := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Name: "x"})
	require.NoError(t, lineage.Tee(rec).Emit(ev))
	require.NoError(t, rec.Annotate(ev.Run.RunID, "k", "v"))
	require.NoError(t, rec.Sync(context.Background()))
	require.NoError(t, rec.Close(context.Background()))
}
