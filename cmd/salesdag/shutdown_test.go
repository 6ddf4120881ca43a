package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

// These tests drive the real binary with real signals against a lineage
// backend that takes requests and never answers (the default grace period
// of 30 s applies). Time bounds are generous; each one still fails when
// the grace period is waited out.

// hangingBackend accepts connections and never answers a request.
func hangingBackend(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: unblocks the handlers
	return srv
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is the binary running in the background.
type proc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan error
}

func startBin(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(binPath, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(cleanEnv(), env...)
	p.cmd.Stderr = p.stderr
	require.NoError(t, p.cmd.Start())
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

// wait returns the exit code (-1 for a signal death) and how long the
// process took to end; it fails the test after limit.
func (p *proc) wait(t *testing.T, limit time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case err := <-p.exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), time.Since(start)
		}
		require.NoError(t, err)
		return 0, time.Since(start)
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		t.Fatalf("salesdag still running %s after the signal\n%s", limit, p.stderr.String())
		return 0, 0
	}
}

type histRun struct {
	ID     string            `json:"id"`
	Status string            `json:"status"`
	Events int               `json:"events"`
	Info   map[string]string `json:"info"`
}

func historyRuns(t *testing.T, dir string, env []string) []histRun {
	t.Helper()
	r := run(t, dir, env, "lineage", "runs", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var runs []histRun
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs), r.stdout)
	return runs
}

// waitForStatus waits until the history records the (only) run as status
// and returns it; p must not end before.
func waitForStatus(t *testing.T, p *proc, dir string, env []string, status string) histRun {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if runs := historyRuns(t, dir, env); len(runs) == 1 && runs[0].Status == status {
			return runs[0]
		}
		select {
		case err := <-p.exited:
			t.Fatalf("salesdag ended (%v) before its run was recorded as %s\n%s", err, status, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run was not recorded as %s within 60s\n%s", status, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// historyEvents is every event the history recorded for run id.
func historyEvents(t *testing.T, dir string, env []string, id string) []string {
	t.Helper()
	r := run(t, dir, env, "lineage", "show", id, "--events")
	require.Equal(t, 0, r.code, r.stderr)
	return nonEmptyLines(r.stdout)
}

// outboxEvents is every event waiting in the outbox under home.
func outboxEvents(t *testing.T, home string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(home, "outbox", "*.jsonl"))
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		out = append(out, nonEmptyLines(string(b))...)
	}
	return out
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// requireSameEvents checks that the outbox holds exactly the run's events.
func requireSameEvents(t *testing.T, want, got []string) {
	t.Helper()
	require.NotEmpty(t, want)
	require.Len(t, got, len(want), "events in the outbox")
	want, got = slices.Clone(want), slices.Clone(got)
	slices.Sort(want)
	slices.Sort(got)
	require.Equal(t, want, got, "the outbox holds every event of the run, once")
}

// TestSignalDuringGracePeriodSavesEventsAndExitsAtOnce: the run is done
// and recorded, delivery hangs; SIGTERM or SIGINT moves the events to the
// outbox and ends the process at once instead of after the 30 s grace
// period. The run stays COMPLETE, exit code 0.
func TestSignalDuringGracePeriodSavesEventsAndExitsAtOnce(t *testing.T) {
	t.Parallel()
	srv := hangingBackend(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			home := filepath.Join(dir, "home")
			env := []string{"SALESDAG_HOME=" + home}
			p := startBin(t, dir, env, "run", "--lineage-url", srv.URL)
			done := waitForStatus(t, p, dir, env, "COMPLETE")
			require.NoError(t, p.cmd.Process.Signal(sig))
			code, took := p.wait(t, 25*time.Second)
			// The issue asks for 2 s; 10 s leaves room for -race on a loaded
			// machine and still fails the 30 s grace period.
			require.Less(t, took, 10*time.Second, "exits at once, not after the grace period")
			require.Equal(t, 0, code, "the results were written: %s", p.stderr.String())
			require.Contains(t, p.stderr.String(), "delivery stopped early")
			require.Contains(t, p.stderr.String(), "salesdag lineage flush")
			requireSameEvents(t, historyEvents(t, dir, env, done.ID), outboxEvents(t, home))
			runs := historyRuns(t, dir, env)
			require.Equal(t, "COMPLETE", runs[0].Status)
			require.Contains(t, runs[0].Info["lineage"], "not delivered")
		})
	}
}

// TestSIGKILLDuringGracePeriodLosesNoEvent: a SIGKILL (docker stop after
// its timeout, a CI runner) while delivery hangs: every event is in the
// outbox, and a later flush delivers each one once.
func TestSIGKILLDuringGracePeriodLosesNoEvent(t *testing.T) {
	t.Parallel()
	srv := hangingBackend(t)
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	env := []string{"SALESDAG_HOME=" + home}
	p := startBin(t, dir, env, "run", "--lineage-url", srv.URL)
	done := waitForStatus(t, p, dir, env, "COMPLETE")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	p.wait(t, 25*time.Second)
	events := historyEvents(t, dir, env, done.ID)
	requireSameEvents(t, events, outboxEvents(t, home))

	good := lineagetest.NewServer(t, nil)
	r := run(t, dir, append(env, "OPENLINEAGE_URL="+good.URL), "lineage", "flush")
	require.Equal(t, 0, r.code, r.stderr)
	var got []string
	for _, ev := range good.Events() {
		got = append(got, string(ev))
	}
	requireSameEvents(t, events, got)
	require.Empty(t, good.Invalid())
	require.Empty(t, outboxEvents(t, home))
}

// TestSecondSignalStillRecordsAbort: a second SIGINT while an interrupted
// run cleans up (delivery hanging) ends the process at once, and the run
// is still ABORT in the history, with its events in the outbox.
func TestSecondSignalStillRecordsAbort(t *testing.T) {
	t.Parallel()
	srv := hangingBackend(t)
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	env := []string{"SALESDAG_HOME=" + home}
	fifo := filepath.Join(dir, "in.csv")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	w, err := os.OpenFile(fifo, os.O_RDWR, 0) // does not wait for a reader (Linux)
	require.NoError(t, err)
	defer w.Close()
	_, err = w.WriteString("date,product_id,amount,customer_id\n2024-01-01,P1,10.5,C1\n")
	require.NoError(t, err)

	p := startBin(t, dir, env, "run", "--input", fifo, "--lineage-url", srv.URL)
	waitForStatus(t, p, dir, env, "RUNNING")
	// Another salesdag is writing the history just then (its writers'
	// lock), so recording the ABORT has to wait while the signals come.
	lock, err := os.OpenFile(filepath.Join(home, "history.db.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	require.NoError(t, err)
	defer lock.Close()
	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_EX))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	// Two signals sent back to back can reach the process as one; the
	// second comes while the first one's cleanup waits for the history.
	time.Sleep(time.Second)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	time.Sleep(time.Second)
	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_UN))
	code, took := p.wait(t, 25*time.Second)
	require.Less(t, took, 10*time.Second)
	require.Equal(t, 130, code, p.stderr.String()) // SIGINT
	runs := historyRuns(t, dir, env)
	require.Len(t, runs, 1)
	require.Equal(t, "ABORT", runs[0].Status, p.stderr.String())
	requireSameEvents(t, historyEvents(t, dir, env, runs[0].ID), outboxEvents(t, home))
}

// TestSignalDuringRunWithHangingBackendExitsAtOnce: one SIGTERM while the
// run is in progress: ABORT recorded, events in the outbox, and the
// process ends within the short post-signal grace, not the 30 s one.
func TestSignalDuringRunWithHangingBackendExitsAtOnce(t *testing.T) {
	t.Parallel()
	srv := hangingBackend(t)
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	env := []string{"SALESDAG_HOME=" + home}
	fifo := filepath.Join(dir, "in.csv")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	require.NoError(t, err)
	defer w.Close()
	_, err = w.WriteString("date,product_id,amount,customer_id\n2024-01-01,P1,10.5,C1\n")
	require.NoError(t, err)

	p := startBin(t, dir, env, "run", "--input", fifo, "--lineage-url", srv.URL)
	waitForStatus(t, p, dir, env, "RUNNING")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	code, took := p.wait(t, 25*time.Second)
	require.Less(t, took, 10*time.Second)
	require.Equal(t, 128+int(syscall.SIGTERM), code, p.stderr.String())
	runs := historyRuns(t, dir, env)
	require.Equal(t, "ABORT", runs[0].Status)
	requireSameEvents(t, historyEvents(t, dir, env, runs[0].ID), outboxEvents(t, home))
}
