package lineage_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

// waitFor polls cond for up to 20 s (generous: -race on a loaded machine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLaggingDeliveryIsOnDiskBeforeClose: with a backend that hangs, the
// events are in the outbox (synced) while the run is still going, so a
// SIGKILL at that point loses nothing; a flush meanwhile leaves the live
// file alone, and Close leaves exactly the undelivered events in it.
func TestLaggingDeliveryIsOnDiskBeforeClose(t *testing.T) {
	hang := lineagetest.NewServer(t, func(int, *http.Request) lineagetest.Fault { return lineagetest.Fault{Delay: time.Minute} })
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: hang.URL, Timeout: time.Minute})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "outbox")
	em := lineage.NewEmitter(lineage.EmitterOptions{Transport: tr, OutboxDir: dir, Grace: 200 * time.Millisecond, SpillAfter: 50 * time.Millisecond})
	var emitted []string
	for i := range 3 {
		b := testEvent(t, "j"+string(rune('a'+i)))
		emitted = append(emitted, string(b))
		require.NoError(t, em.EmitJSON(b))
	}
	waitFor(t, "the events to be spilled", func() bool { return len(readOutbox(t, em.OutboxPath())) == 3 })
	require.Equal(t, emitted, asStrings(readOutbox(t, em.OutboxPath())))

	// A later event joins them (in the background: Emit never waits for
	// the disk).
	b := testEvent(t, "jd")
	emitted = append(emitted, string(b))
	require.NoError(t, em.EmitJSON(b))
	waitFor(t, "the fourth event to be spilled", func() bool { return len(readOutbox(t, em.OutboxPath())) == 4 })
	require.Equal(t, emitted, asStrings(readOutbox(t, em.OutboxPath())))

	// A flush while the run is alive does not send its events twice.
	good := lineagetest.NewServer(t, nil)
	r, err := lineage.Flush(context.Background(), dir, httpTo(t, good.URL), fastFlush)
	require.NoError(t, err)
	require.Equal(t, 1, r.InUse)
	require.Zero(t, r.Sent)
	require.Contains(t, r.String(), "in use by a running salesdag")
	require.Empty(t, good.Events())

	rep := em.Close(context.Background())
	require.Equal(t, 4, rep.Outboxed, rep.Warning())
	require.Equal(t, em.OutboxPath(), rep.OutboxPath)
	require.Equal(t, emitted, asStrings(readOutbox(t, rep.OutboxPath)))

	// Once the run is over, the file is an ordinary outbox file.
	r, err = lineage.Flush(context.Background(), dir, httpTo(t, good.URL), fastFlush)
	require.NoError(t, err)
	require.Equal(t, 4, r.Sent)
	require.Equal(t, emitted, asStrings(good.Events()))
}

// TestSpilledEventsDeliveredLaterLeaveNoOutbox: a backend that is slow at
// first makes the emitter spill; once it catches up, Close removes the
// file, so nothing is sent twice.
func TestSpilledEventsDeliveredLaterLeaveNoOutbox(t *testing.T) {
	srv := lineagetest.NewServer(t, func(n int, _ *http.Request) lineagetest.Fault {
		if n == 1 {
			return lineagetest.Fault{Delay: 500 * time.Millisecond}
		}
		return lineagetest.Fault{}
	})
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: srv.URL, Timeout: 30 * time.Second})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "outbox")
	em := lineage.NewEmitter(lineage.EmitterOptions{Transport: tr, OutboxDir: dir, Grace: 30 * time.Second, SpillAfter: 20 * time.Millisecond})
	var emitted []string
	for i := range 3 {
		b := testEvent(t, "j"+string(rune('a'+i)))
		emitted = append(emitted, string(b))
		require.NoError(t, em.EmitJSON(b))
	}
	path := em.OutboxPath()
	waitFor(t, "the events to be spilled", func() bool { _, err := os.Stat(path); return err == nil })
	rep := em.Close(context.Background())
	require.True(t, rep.OK(), rep.Warning())
	require.Equal(t, emitted, asStrings(srv.Events()))
	_, err = os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist, "delivered events do not stay in the outbox")
	n, err := lineage.Pending(dir)
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestHealthyDeliveryWritesNoOutbox: a backend that keeps up never causes
// outbox writes.
func TestHealthyDeliveryWritesNoOutbox(t *testing.T) {
	var console syncBuffer
	dir := filepath.Join(t.TempDir(), "outbox")
	em := lineage.NewEmitter(lineage.EmitterOptions{Transport: lineage.NewConsoleTransport(&console), OutboxDir: dir, SpillAfter: 10 * time.Millisecond})
	require.NoError(t, em.EmitJSON(testEvent(t, "j")))
	waitFor(t, "delivery", func() bool { return len(console.Bytes()) > 0 })
	time.Sleep(50 * time.Millisecond) // past SpillAfter
	require.True(t, em.Close(context.Background()).OK())
	_, err := os.Stat(dir)
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestRetryAfterBeyondTheGracePeriodGoesToTheOutboxAtOnce: a 429 asking
// for an hour is not waited for: the event goes to the outbox as soon as
// Close begins, not when the grace period ends.
func TestRetryAfterBeyondTheGracePeriodGoesToTheOutboxAtOnce(t *testing.T) {
	srv := lineagetest.NewServer(t, func(int, *http.Request) lineagetest.Fault {
		return lineagetest.Fault{Status: 429, Header: map[string]string{"Retry-After": "3600"}}
	})
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: srv.URL})
	require.NoError(t, err)
	em := lineage.NewEmitter(lineage.EmitterOptions{Transport: tr, OutboxDir: t.TempDir(), Grace: time.Minute})
	require.NoError(t, em.EmitJSON(testEvent(t, "j")))
	waitFor(t, "the first attempt", func() bool { return len(srv.Requests()) == 1 })
	start := time.Now()
	rep := em.Close(context.Background())
	// The bound is generous and still far below the one-minute grace.
	require.Less(t, time.Since(start), 20*time.Second)
	require.Equal(t, 1, rep.Outboxed)
	require.Len(t, srv.Requests(), 1, "not retried before the server's Retry-After")
}

// TestRetryAfterWithinTheGracePeriodIsHonoured: Close does not cut a
// server's Retry-After short when it ends within the grace period.
func TestRetryAfterWithinTheGracePeriodIsHonoured(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	srv := lineagetest.NewServer(t, func(n int, _ *http.Request) lineagetest.Fault {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		if n == 1 {
			return lineagetest.Fault{Status: 429, Header: map[string]string{"Retry-After": "2"}}
		}
		return lineagetest.Fault{}
	})
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: srv.URL})
	require.NoError(t, err)
	em := lineage.NewEmitter(lineage.EmitterOptions{Transport: tr, OutboxDir: t.TempDir(), Grace: time.Minute})
	require.NoError(t, em.EmitJSON(testEvent(t, "j")))
	waitFor(t, "the first attempt", func() bool { return len(srv.Requests()) == 1 })
	rep := em.Close(context.Background())
	require.True(t, rep.OK(), rep.Warning())
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, times, 2)
	require.GreaterOrEqual(t, times[1].Sub(times[0]), 1500*time.Millisecond, "the retry waited for Retry-After")
}

// TestFlushNeverWaitsPastItsDeadline: `lineage flush --timeout` against a
// 429 with Retry-After: 3600 stops at once and keeps the events.
func TestFlushNeverWaitsPastItsDeadline(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	events := fillOutbox(t, dir, "01")
	srv := lineagetest.NewServer(t, func(int, *http.Request) lineagetest.Fault {
		return lineagetest.Fault{Status: 429, Header: map[string]string{"Retry-After": "3600"}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	r, err := lineage.Flush(ctx, dir, httpTo(t, srv.URL), fastFlush)
	require.NoError(t, err)
	require.Less(t, time.Since(start), 20*time.Second)
	require.Zero(t, r.Sent)
	require.Equal(t, len(events), r.Remaining)
	require.ErrorContains(t, r.FirstError, "after the deadline")
	require.Equal(t, asStrings(events), asStrings(readOutbox(t, filepath.Join(dir, "01.jsonl"))))
}

// TestPersistWritesWhatIsUndelivered: after Persist, every undelivered
// event is on disk at once (a caller records the run's end only then).
func TestPersistWritesWhatIsUndelivered(t *testing.T) {
	hang := lineagetest.NewServer(t, func(int, *http.Request) lineagetest.Fault { return lineagetest.Fault{Delay: time.Minute} })
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: hang.URL, Timeout: time.Minute})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "outbox")
	em := lineage.NewEmitter(lineage.EmitterOptions{Transport: tr, OutboxDir: dir, Grace: 100 * time.Millisecond, SpillAfter: time.Hour})
	b := testEvent(t, "j")
	require.NoError(t, em.EmitJSON(b))
	em.Persist(10 * time.Millisecond)
	require.Equal(t, []string{string(b)}, asStrings(readOutbox(t, em.OutboxPath())))
	require.Equal(t, 1, em.Close(context.Background()).Outboxed)
	require.Equal(t, []string{string(b)}, asStrings(readOutbox(t, em.OutboxPath())), "written once")
}

// TestSpillRetriesWhatItCouldNotWrite: when the outbox cannot be written
// at first, the events are not forgotten: the next write includes them.
func TestSpillRetriesWhatItCouldNotWrite(t *testing.T) {
	hang := lineagetest.NewServer(t, func(int, *http.Request) lineagetest.Fault { return lineagetest.Fault{Delay: time.Minute} })
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: hang.URL, Timeout: time.Minute})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "outbox")
	require.NoError(t, os.WriteFile(dir, nil, 0o644)) // a file where the directory should be
	logs := &logCapture{}
	em := lineage.NewEmitter(lineage.EmitterOptions{Transport: tr, OutboxDir: dir, Grace: 100 * time.Millisecond, SpillAfter: 20 * time.Millisecond, Logf: logs.logf})
	a := testEvent(t, "a")
	require.NoError(t, em.EmitJSON(a))
	waitFor(t, "a failed write", func() bool { return strings.Contains(logs.text(), "cannot save undelivered events") })
	require.NoError(t, os.Remove(dir))
	b := testEvent(t, "b")
	require.NoError(t, em.EmitJSON(b))
	waitFor(t, "the events to be spilled", func() bool { return len(readOutbox(t, em.OutboxPath())) == 2 })
	require.Equal(t, []string{string(a), string(b)}, asStrings(readOutbox(t, em.OutboxPath())))
	require.Equal(t, 2, em.Close(context.Background()).Outboxed)
}
