package history

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// The test binary doubles as a separate salesdag process writing to a
// store: TestMain runs a child role when the environment asks for one.
const (
	envChild     = "SALESDAG_HISTORY_TEST_CHILD"
	envChildPath = "SALESDAG_HISTORY_TEST_PATH"
	envChildRuns = "SALESDAG_HISTORY_TEST_RUNS"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envChild) {
	case "":
		os.Exit(m.Run())
	case "writer":
		os.Exit(childWriter())
	case "crash":
		os.Exit(childCrash())
	case "forever":
		os.Exit(childForever())
	default:
		fmt.Fprintln(os.Stderr, "unknown child role")
		os.Exit(2)
	}
}

// childT lets the test helpers run outside a test: a failure ends the
// child with a message and exit code 1.
type childT struct{ testing.TB }

func (childT) Helper() {}
func (childT) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}
func (childT) FailNow()                  { os.Exit(1) }
func (childT) Fatalf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...); os.Exit(1) }
func (childT) Cleanup(func())            {}
func (childT) Name() string              { return "child" }

func childRecorder() (*Recorder, int) {
	n, _ := strconv.Atoi(os.Getenv(envChildRuns))
	rec, err := OpenRecorder(os.Getenv(envChildPath), RecorderOptions{LockTimeout: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return rec, n
}

// childWriter records N complete runs of the toy pipeline, then closes.
func childWriter() int {
	rec, n := childRecorder()
	for i := 0; i < n; i++ {
		if _, err := trackedRun(childT{}, rec, runOpts{start: time.Now().UTC()}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := rec.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// childCrash starts a run, makes sure its first events are on disk, and
// dies by SIGKILL in the middle of it: no Close, no terminal event.
func childCrash() int {
	rec, _ := childRecorder()
	id := uuid.MustParse(os.Getenv("SALESDAG_HISTORY_TEST_RUNID"))
	_, _ = trackedRun(childT{}, rec, runOpts{runID: id, skipFinish: true, onEvent: func(node string) {
		if node == "daily" {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := rec.Sync(ctx); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}})
	return 1 // not reached
}

// childForever records runs until it is killed.
func childForever() int {
	rec, _ := childRecorder()
	// "ready" once a first run is in the store: the parent kills this
	// process while it writes later ones, whatever the machine's load.
	for ready := false; ; ready = true {
		if _, err := trackedRun(childT{}, rec, runOpts{start: time.Now().UTC(), nodeLineage: true, checks: true}); err != nil {
			return 1
		}
		if !ready {
			if err := rec.Sync(context.Background()); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			fmt.Println("ready")
		}
	}
}

func child(t *testing.T, role, path string, runs int, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+role, envChildPath+"="+path, envChildRuns+"="+strconv.Itoa(runs))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// checkConsistent verifies the B+tree and that every summary agrees with
// the events stored under its run.
func checkConsistent(t *testing.T, path string) []Run {
	t.Helper()
	s, err := Open(path)
	require.NoError(t, err)
	defer s.Close() // writers wait while a reader has the store open
	require.NoError(t, s.Check())
	runs, err := s.List(ListQuery{})
	require.NoError(t, err)
	for _, r := range runs {
		id := uuid.MustParse(r.ID)
		raw, err := s.RawEvents(id)
		require.NoError(t, err)
		require.Len(t, raw, r.Events, "run %s", r.ID)
		evs, err := s.Events(id)
		require.NoError(t, err)
		// Replaying the events gives the stored summary.
		re := &Run{ID: r.ID, Host: r.Host, PID: r.PID, Info: r.Info}
		for _, ev := range evs {
			re.apply(ev)
		}
		re.ShortID = r.ShortID
		s.effective(re)
		require.Equal(t, r, *re, "run %s", r.ID)
	}
	return runs
}

func TestConcurrentWriters(t *testing.T) {
	const goroutines, processes, perWriter = 4, 3, 5
	path := storePath(t)
	// Create the store first so that the children race on writes, not on
	// creating the file.
	closeRecorder(t, newRecorder(t, path))

	var cmds []*exec.Cmd
	for i := 0; i < processes; i++ {
		c := child(t, "writer", path, perWriter)
		require.NoError(t, c.Start())
		cmds = append(cmds, c)
	}
	var wg sync.WaitGroup
	ids := make(chan uuid.UUID, goroutines*perWriter)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, err := OpenRecorder(path, RecorderOptions{LockTimeout: 50 * time.Millisecond})
			if !assertNoError(t, err) {
				return
			}
			for i := 0; i < perWriter; i++ {
				id, err := trackedRun(t, rec, runOpts{start: time.Now().UTC(), nodeLineage: i%2 == 0})
				assertNoError(t, err)
				ids <- id
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			assertNoError(t, rec.Close(ctx))
		}()
	}
	wg.Wait()
	close(ids)
	for _, c := range cmds {
		require.NoError(t, c.Wait())
	}

	runs := checkConsistent(t, path)
	require.Len(t, runs, (goroutines+processes)*perWriter)
	pids := map[int]int{}
	for _, r := range runs {
		require.Equal(t, StatusComplete, r.Status, r.ID)
		require.Len(t, r.Nodes, 5)
		pids[r.PID]++
	}
	require.Len(t, pids, processes+1, "runs from every process")
	require.Equal(t, goroutines*perWriter, pids[os.Getpid()])
	s := openStore(t, path)
	for id := range ids {
		_, err := s.Get(id)
		require.NoError(t, err)
	}
}

func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

// A process killed in the middle of a run leaves the events it recorded;
// the run shows as INCOMPLETE and the store takes new runs.
func TestCrashedProcessLeavesIncompleteRun(t *testing.T) {
	path := storePath(t)
	id := lineageRunID()
	c := child(t, "crash", path, 0, "SALESDAG_HISTORY_TEST_RUNID="+id.String())
	err := c.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, syscall.SIGKILL, ee.Sys().(syscall.WaitStatus).Signal())

	runs := checkConsistent(t, path)
	require.Len(t, runs, 1)
	r := runs[0]
	require.Equal(t, id.String(), r.ID)
	require.Equal(t, StatusIncomplete, r.Status)
	require.Equal(t, c.Process.Pid, r.PID)
	names := map[string]Status{}
	for _, n := range r.Nodes {
		names[n.Name] = n.Status
	}
	require.Equal(t, StatusComplete, names["raw"])
	require.Equal(t, StatusComplete, names["clean"])

	// The lock died with the process: a new run records at once.
	rec := newRecorder(t, path)
	_, err = trackedRun(t, rec, runOpts{})
	require.NoError(t, err)
	closeRecorder(t, rec)
	require.Len(t, checkConsistent(t, path), 2)
}

// SIGKILL at an arbitrary moment of a busy writer never corrupts the
// store: bbolt commits are atomic.
func TestKilledWriterLeavesConsistentStore(t *testing.T) {
	path := storePath(t)
	for round := 0; round < 3; round++ {
		c := child(t, "forever", path, 0)
		out, err := c.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, c.Start())
		buf := make([]byte, 6)
		_, err = out.Read(buf)
		require.NoError(t, err)
		time.Sleep(time.Duration(100+50*round) * time.Millisecond)
		require.NoError(t, c.Process.Signal(syscall.SIGKILL))
		_ = c.Wait()
	}
	runs := checkConsistent(t, path)
	require.NotEmpty(t, runs)
	for _, r := range runs[1:] {
		// Only the newest run of each killed writer may lack its end.
		if !r.Status.Terminal() {
			require.Equal(t, StatusIncomplete, r.Status)
		}
	}
}

func lineageRunID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}
