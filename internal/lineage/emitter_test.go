package lineage_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

type logCapture struct {
	mu    sync.Mutex
	lines []string
}

func (l *logCapture) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *logCapture) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// TestDeliveryUnderFaults runs the whole tracked pipeline against a real
// HTTP backend in the test process that misbehaves in one way per case,
// and checks the run's outcome, what was delivered, what is in the outbox
// and that closing took no longer than the bound.
func TestDeliveryUnderFaults(t *testing.T) {
	const grace = 2 * time.Second
	// Generous: the bound plus scheduling noise under -race on 2 cores.
	const closeBound = grace + 3*time.Second

	type env struct {
		srv *lineagetest.Server
		url string
	}
	cases := []struct {
		name    string
		fault   lineagetest.FaultFunc
		refused bool          // point at a port nobody listens on
		timeout time.Duration // HTTP request timeout
		during  func(e *env) func(node string)
		check   func(t *testing.T, e *env, res runResult, rep lineage.Report, outbox [][]byte, log string)
	}{
		{
			name: "503 twice then 201",
			fault: func(n int, _ *http.Request) lineagetest.Fault {
				if n <= 2 {
					return lineagetest.Fault{Status: 503, Body: "warming up"}
				}
				return lineagetest.Fault{}
			},
			check: func(t *testing.T, e *env, res runResult, rep lineage.Report, outbox [][]byte, log string) {
				require.True(t, rep.OK(), rep.Warning())
				require.Equal(t, asStrings(res.emitted), asStrings(e.srv.Events()))
				require.Empty(t, outbox)
				require.Len(t, e.srv.Requests(), len(res.emitted)+2, "exactly the two failed attempts were repeated")
				require.Contains(t, log, "HTTP 503: warming up")
			},
		},
		{
			name: "429 with Retry-After",
			fault: func(n int, _ *http.Request) lineagetest.Fault {
				if n == 1 {
					return lineagetest.Fault{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: "slow down"}
				}
				return lineagetest.Fault{}
			},
			check: func(t *testing.T, e *env, res runResult, rep lineage.Report, outbox [][]byte, log string) {
				require.True(t, rep.OK(), rep.Warning())
				require.Equal(t, asStrings(res.emitted), asStrings(e.srv.Events()))
				require.Empty(t, outbox)
				require.Contains(t, log, "retrying in 1s", "the server's Retry-After is the wait")
			},
		},
		{
			name: "401 is not retried and is reported",
			fault: func(int, *http.Request) lineagetest.Fault {
				return lineagetest.Fault{Status: 401, Body: "Unauthorized: token " + secretKey + " revoked\n<html>"}
			},
			check: func(t *testing.T, e *env, res runResult, rep lineage.Report, outbox [][]byte, log string) {
				require.False(t, rep.OK())
				require.Equal(t, len(res.emitted), rep.Rejected)
				require.Empty(t, e.srv.Events())
				require.Len(t, e.srv.Requests(), len(res.emitted), "one request per event: no retries")
				require.Equal(t, asStrings(res.emitted), asStrings(outbox), "refused events are kept for a flush once the key is fixed")
				w := rep.Warning()
				require.Contains(t, w, "HTTP 401: Unauthorized: token *** revoked")
				require.Contains(t, w, fmt.Sprintf("%d refused", len(res.emitted)))
				require.NotContains(t, w+log, secretKey)
			},
		},
		{
			name:    "response slower than the timeout",
			timeout: 100 * time.Millisecond,
			fault: func(int, *http.Request) lineagetest.Fault {
				return lineagetest.Fault{Delay: 10 * time.Second}
			},
			check: func(t *testing.T, e *env, res runResult, rep lineage.Report, outbox [][]byte, log string) {
				require.Empty(t, e.srv.Events())
				require.Equal(t, len(res.emitted), len(outbox), rep.Warning())
				require.Equal(t, asStrings(res.emitted), asStrings(outbox))
				require.Contains(t, rep.Warning(), "no response within 100ms")
			},
		},
		{
			name:    "connection refused",
			refused: true,
			check: func(t *testing.T, e *env, res runResult, rep lineage.Report, outbox [][]byte, log string) {
				require.Equal(t, asStrings(res.emitted), asStrings(outbox))
				require.Contains(t, rep.Warning(), "refused")
				require.Contains(t, rep.Warning(), "salesdag lineage flush")
				require.Equal(t, 0, rep.Sent)
			},
		},
		{
			name: "server dies mid-run",
			during: func(e *env) func(string) {
				var once sync.Once
				return func(node string) {
					if node != "weekly" {
						return
					}
					once.Do(func() {
						// Let the first events arrive, then pull the plug.
						deadline := time.Now().Add(5 * time.Second)
						for len(e.srv.Events()) < 3 && time.Now().Before(deadline) {
							time.Sleep(5 * time.Millisecond)
						}
						e.srv.Close()
					})
				}
			},
			check: func(t *testing.T, e *env, res runResult, rep lineage.Report, outbox [][]byte, log string) {
				delivered := e.srv.Events()
				require.GreaterOrEqual(t, len(delivered), 3)
				require.Less(t, len(delivered), len(res.emitted))
				// Delivered is a prefix, the outbox the rest: nothing lost,
				// order kept. Delivery is at least once: when the server dies
				// after taking an event but before its answer arrives, that
				// one event is both delivered and kept (the sender cannot
				// know), so the two may overlap by one.
				msg := fmt.Sprintf("emitted %d, delivered %d, outbox %d; %s", len(res.emitted), len(delivered), len(outbox), log)
				all := asStrings(res.emitted)
				require.Equal(t, all[:len(delivered)], asStrings(delivered), msg)
				require.GreaterOrEqual(t, len(outbox), len(all)-len(delivered), msg)
				require.LessOrEqual(t, len(outbox), len(all)-len(delivered)+1, msg)
				require.Equal(t, all[len(all)-len(outbox):], asStrings(outbox), msg)
				require.Equal(t, len(outbox), rep.Outboxed)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{}
			if tc.refused {
				e.url = refusedURL(t)
			} else {
				e.srv = lineagetest.NewServer(t, tc.fault)
				e.url = e.srv.URL
			}
			var opts pipelineOpts
			if tc.during != nil {
				opts.during = tc.during(e)
			}
			logs := &logCapture{}
			tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: e.url, APIKey: secretKey, Timeout: tc.timeout})
			require.NoError(t, err)
			outDir := filepath.Join(t.TempDir(), "outbox")
			em := lineage.NewEmitter(lineage.EmitterOptions{
				Transport: tr, OutboxDir: outDir, Grace: grace, Logf: logs.logf,
				InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
			})

			res := runPipeline(t, context.Background(), em, opts, nil)
			require.NoError(t, res.runErr, "lineage trouble never fails the run")
			checkSequence(t, res.emitted, lineage.EventComplete, nil)

			start := time.Now()
			rep := em.Close(context.Background())
			took := time.Since(start)
			require.Less(t, took, closeBound, "Close is bounded by the grace period")
			require.Equal(t, len(res.emitted), rep.Emitted)
			require.Equal(t, rep.Emitted, rep.Sent+rep.Outboxed+rep.Lost)
			require.Zero(t, rep.Lost)
			outbox := readOutbox(t, em.OutboxPath())
			if len(outbox) > 0 {
				require.Equal(t, em.OutboxPath(), rep.OutboxPath)
			}
			if e.srv != nil {
				require.Empty(t, e.srv.Invalid(), "every event reaching the backend is valid")
			}
			require.NotContains(t, rep.Warning(), secretKey)
			tc.check(t, e, res, rep, outbox, logs.text())
		})
	}
}

// hangTransport is a backend that never answers: Send returns only when
// its context ends.
type hangTransport struct{}

func (hangTransport) Send(ctx context.Context, _ []byte) error { <-ctx.Done(); return ctx.Err() }
func (hangTransport) Close() error                             { return nil }
func (hangTransport) String() string                           { return "hang://" }

func TestEmitNeverWaitsForAnUnreachableBackend(t *testing.T) {
	em := lineage.NewEmitter(lineage.EmitterOptions{Transport: hangTransport{}, OutboxDir: t.TempDir(), Grace: time.Second})
	ev := lineage.NewRunEvent(lineage.EventRunning, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Namespace: "n", Name: "j"})
	const n = 5000
	// Against a backend that never answers, an Emit that waited for
	// delivery would never return; one that only encodes and queues
	// returns at once. The bound is only there to end the test: no
	// machine is slow enough to need it for 5000 encodings.
	done := make(chan error, 1)
	go func() {
		for range n {
			if err := em.Emit(ev); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("Emit waits for the backend")
	}
	rep := em.Close(context.Background())
	require.Equal(t, n, rep.Outboxed)
	require.Len(t, readOutbox(t, rep.OutboxPath), n)
	require.ErrorIs(t, em.Emit(ev), lineage.ErrClosed)
	require.ErrorIs(t, em.EmitJSON([]byte("{}")), lineage.ErrClosed)
}

func TestCloseIsCutShortByItsContext(t *testing.T) {
	srv := lineagetest.NewServer(t, func(int, *http.Request) lineagetest.Fault { return lineagetest.Fault{Status: 503} })
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: srv.URL})
	require.NoError(t, err)
	em := lineage.NewEmitter(lineage.EmitterOptions{Transport: tr, OutboxDir: t.TempDir(), Grace: time.Minute, MaxAttempts: 1000, InitialBackoff: 20 * time.Millisecond})
	require.NoError(t, em.EmitJSON(testEvent(t, "j")))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel) // a second Ctrl-C
	start := time.Now()
	rep := em.Close(ctx)
	require.Less(t, time.Since(start), 10*time.Second)
	require.True(t, rep.TimedOut, "%+v", rep)
	require.True(t, rep.Cut)
	require.Equal(t, 1, rep.Outboxed)
	require.Contains(t, rep.Warning(), "delivery stopped early")
	again := em.Close(context.Background())
	require.Equal(t, rep.Outboxed, again.Outboxed, "Close is idempotent")

	// A context deadline shorter than Grace bounds Close too.
	em = lineage.NewEmitter(lineage.EmitterOptions{Transport: tr, OutboxDir: t.TempDir(), Grace: time.Minute, MaxAttempts: 1000, InitialBackoff: 20 * time.Millisecond})
	require.NoError(t, em.EmitJSON(testEvent(t, "j")))
	dctx, dcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer dcancel()
	start = time.Now()
	rep = em.Close(dctx)
	require.Less(t, time.Since(start), 10*time.Second)
	require.Equal(t, 1, rep.Outboxed)
}

func TestCompositeLanesDeliverIndependently(t *testing.T) {
	// Console and a failing HTTP backend: the console prints each event
	// exactly once however often HTTP is retried, and only the HTTP
	// misses go to the outbox, once each.
	var console syncBuffer
	var calls atomic.Int32
	srv := lineagetest.NewServer(t, func(n int, _ *http.Request) lineagetest.Fault {
		calls.Add(1)
		return lineagetest.Fault{Status: 500, Body: "db down"}
	})
	h, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: srv.URL})
	require.NoError(t, err)
	em := lineage.NewEmitter(lineage.EmitterOptions{
		Transport: lineage.NewCompositeTransport(lineage.NewConsoleTransport(&console), h),
		OutboxDir: t.TempDir(), Grace: time.Second, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	})
	var emitted []string
	for i := range 5 {
		b := testEvent(t, fmt.Sprintf("j%d", i))
		emitted = append(emitted, string(b))
		require.NoError(t, em.EmitJSON(b))
	}
	rep := em.Close(context.Background())
	require.Equal(t, strings.Join(emitted, "\n")+"\n", string(console.Bytes()))
	require.Equal(t, lineage.DefaultMaxAttempts, int(calls.Load()), "the first event was retried until the backend counted as down")
	require.Equal(t, emitted, asStrings(readOutbox(t, rep.OutboxPath)))
	require.Equal(t, 0, rep.Sent, "an event counts as sent only when every transport took it")
	require.Contains(t, rep.Transport, "console")
}

func TestUndeliveredWithoutOutbox(t *testing.T) {
	em := lineage.NewEmitter(lineage.EmitterOptions{Transport: lineage.NewConsoleTransport(failWriter{})})
	require.NoError(t, em.EmitJSON(testEvent(t, "j")))
	rep := em.Close(context.Background())
	require.Equal(t, 1, rep.Lost)
	require.Equal(t, "", em.OutboxPath())
	require.Contains(t, rep.Warning(), "no outbox configured")
	require.Contains(t, rep.Warning(), "broken pipe")

	// An outbox that cannot be written: the events are reported lost with
	// the reason.
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	em = lineage.NewEmitter(lineage.EmitterOptions{Transport: lineage.NewConsoleTransport(failWriter{}), OutboxDir: filepath.Join(blocker, "outbox"), OutboxName: "run1"})
	require.Equal(t, filepath.Join(blocker, "outbox", "run1.jsonl"), em.OutboxPath())
	require.NoError(t, em.EmitJSON(testEvent(t, "j")))
	rep = em.Close(context.Background())
	require.Equal(t, 1, rep.Lost)
	require.Error(t, rep.OutboxError)
	require.Contains(t, rep.Warning(), "outbox:")
}

func TestEmitterDefaultsAndOKReport(t *testing.T) {
	em := lineage.NewEmitter(lineage.EmitterOptions{MaxBackoff: time.Nanosecond})
	require.Equal(t, "none", em.Transport().String())
	ev := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Namespace: "n", Name: "j"})
	require.NoError(t, em.Emit(ev))
	ev.EventTime = time.Time{}
	require.Error(t, em.Emit(ev), "an event that cannot be encoded is refused at once")
	rep := em.Close(context.Background())
	require.True(t, rep.OK())
	require.Equal(t, 1, rep.Sent)
	require.Equal(t, "", rep.Warning())
	require.False(t, rep.TimedOut)

	// Closing a transport that fails is reported.
	em = lineage.NewEmitter(lineage.EmitterOptions{Transport: &fakeTransport{name: "f", err: fmt.Errorf("close failed")}})
	rep = em.Close(context.Background())
	require.ErrorContains(t, rep.FirstError, "close failed")
}

// panicTransport panics on every Send: a bug in a transport.
type panicTransport struct{}

func (panicTransport) Send(context.Context, []byte) error { panic("transport exploded") }
func (panicTransport) Close() error                       { return nil }
func (panicTransport) String() string                     { return "panic://" }

// A panic inside a transport never ends the process: its events are kept
// in the outbox and the report says why.
func TestTransportPanicKeepsEvents(t *testing.T) {
	var logged []string
	var mu sync.Mutex
	em := lineage.NewEmitter(lineage.EmitterOptions{
		Transport: panicTransport{}, OutboxDir: t.TempDir(), Grace: time.Second,
		Logf: func(f string, a ...any) { mu.Lock(); logged = append(logged, fmt.Sprintf(f, a...)); mu.Unlock() },
	})
	for range 3 {
		require.NoError(t, em.EmitJSON(testEvent(t, "j")))
	}
	rep := em.Close(context.Background())
	require.Equal(t, 3, rep.Emitted)
	require.Equal(t, 0, rep.Sent)
	require.Equal(t, 3, rep.Outboxed, "%+v", rep)
	require.Len(t, readOutbox(t, rep.OutboxPath), 3)
	require.ErrorContains(t, rep.FirstError, "transport exploded")
	require.Contains(t, rep.Warning(), "bug in salesdag")
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, logged)
	require.Contains(t, logged[0], "panicked")
}
