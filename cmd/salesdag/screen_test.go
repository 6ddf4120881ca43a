package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/pipeline"
)

// terminal replays what a program wrote to a terminal (carriage return,
// erase to end of line, newline) and returns the lines left on screen.
func terminal(raw string) []string {
	var lines []string
	var cur []rune
	col := 0
	for i := 0; i < len(raw); {
		switch {
		case strings.HasPrefix(raw[i:], "\033[K"):
			cur = cur[:min(col, len(cur))]
			i += 3
			continue
		case raw[i] == '\r':
			col = 0
		case raw[i] == '\n':
			lines = append(lines, string(cur))
			cur, col = nil, 0
		default:
			r, size := utf8.DecodeRuneInString(raw[i:])
			if col < len(cur) {
				cur[col] = r
			} else {
				cur = append(cur, r)
			}
			col++
			i += size
			continue
		}
		i++
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

func TestTerminalReplay(t *testing.T) {
	require.Equal(t, []string{"warning", "done"}, terminal("reading 5%\r\033[Kwarning\r\nreading 9%\r\033[Kdone\n"))
	require.Equal(t, []string{"warning 9%"}, terminal("reading 9%\rwarning\n"), "no erase: the rest stays glued")
}

// runOnTerminal runs salesdag with stdout and stderr on a pseudo-terminal
// (80 columns) and returns everything it wrote there.
func runOnTerminal(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	// A person at a terminal: CI (set where these tests run in CI) hides
	// the progress line, so the child does not inherit it.
	var base []string
	for _, kv := range cleanEnv() {
		if !strings.HasPrefix(kv, "CI=") {
			base = append(base, kv)
		}
	}
	cmd.Env = append(base, env...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 80})
	require.NoError(t, err)
	defer tty.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(&out, tty) // ends with EIO once the program has exited
		close(copied)
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-waited:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("salesdag did not finish within 2 minutes; screen so far:\n%s", out.String())
	}
	<-copied
	code := 0
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, werr)
	}
	return out.String(), code
}

// TestScreenOfARun runs the real binary on a terminal over a generated
// file large enough for progress, and reads the screen as a person would.
func TestScreenOfARun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	input := filepath.Join(dir, "sales.csv")
	f, err := os.Create(input)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	require.NoError(t, pipeline.Generate(w, 300_000, 1)) // ~10 MB, with duplicate rows: a warning
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())

	raw, code := runOnTerminal(t, dir, nil, "run", "--input", "sales.csv")
	require.Equal(t, 0, code, raw)
	screen := terminal(raw)
	text := strings.Join(screen, "\n")

	// No lineage events on the terminal by default.
	require.False(t, strings.Contains(raw, `"eventType"`), "lineage events on the terminal")
	// Progress was shown, phase by phase...
	require.Regexp(t, `reading sales\.csv: [0-9.]+ [KM]iB of [0-9.]+ MiB \(\d+%\), [0-9,]+ rows`, raw)
	require.Contains(t, raw, "computing ")
	require.Contains(t, raw, "writing the results")
	// ...and never left on screen, nor glued to anything.
	for _, l := range screen {
		require.NotRegexp(t, `reading|computing|writing the results`, l, "a progress line stayed on screen:\n%s", text)
	}
	// The data-quality warning is a line of its own.
	warn := -1
	for i, l := range screen {
		if strings.Contains(l, "level=WARN") {
			warn = i
			require.True(t, strings.HasPrefix(l, "time="), "the warning is glued to something: %q", l)
		}
	}
	require.GreaterOrEqual(t, warn, 0, "no warning on screen:\n%s", text)
	require.Regexp(t, `salesdag: read 300,000 rows from sales\.csv, kept [0-9]{3},[0-9]{3}; wrote 6 files in `, text)
	require.Regexp(t, `output/trend_analysis\.json +1 row +\d+ B`, text)

	// The summary ends with where the lineage went, one status line
	// listing the failed check, and the next step.
	n := len(screen)
	require.GreaterOrEqual(t, n, 3)
	require.Contains(t, screen[n-3], "lineage: 18 events in the local history only")
	require.Contains(t, screen[n-3], "OPENLINEAGE_URL")
	require.Contains(t, screen[n-3], "--lineage console")
	require.Regexp(t, `^WARN  1 of \d+ checks failed: data_quality_metrics\.no_duplicate_rows: duplicate_count expected <= 0, got [0-9,]+$`, screen[n-2])
	require.Regexp(t, `^next: salesdag lineage show [0-9a-f-]{36}$`, screen[n-1])
}

// TestScreenWhileDeliveringLineage: a backend that does not answer. The
// status line counts down the grace period, is cleared before the warning,
// and the total time includes the wait.
func TestScreenWhileDeliveringLineage(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the test ends
		case <-release:
		case <-r.Context().Done():
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	defer close(release)

	dir := t.TempDir()
	raw, code := runOnTerminal(t, dir, []string{"OPENLINEAGE_URL=http://" + ln.Addr().String()}, "run", "--lineage-timeout", "2s")
	require.Equal(t, 0, code, raw)
	screen := terminal(raw)
	text := strings.Join(screen, "\n")
	require.Regexp(t, `delivering lineage events \([12]s left\)`, raw)
	for _, l := range screen {
		require.NotContains(t, l, "delivering", "a progress line stayed on screen:\n%s", text)
	}
	require.Regexp(t, `(?m)^salesdag: warning: lineage: 18 of 18 events not delivered`, text)
	m := regexp.MustCompile(`wrote 6 files in (\S+)\n`).FindStringSubmatch(text + "\n")
	require.NotNil(t, m, text)
	took, err := time.ParseDuration(m[1])
	require.NoError(t, err)
	require.GreaterOrEqual(t, took, 2*time.Second, "the total includes the grace period for delivery")
	n := len(screen)
	require.Equal(t, "WARN  lineage events not delivered (saved to the outbox)", screen[n-2])
	require.Regexp(t, `^next: salesdag lineage show [0-9a-f-]{36}$`, screen[n-1])
}

func TestScreenWithConsoleEvents(t *testing.T) {
	t.Parallel()
	raw, code := runOnTerminal(t, t.TempDir(), nil, "run", "--lineage", "console")
	require.Equal(t, 0, code, raw)
	require.Contains(t, raw, "computing ", "the progress line was shown")
	events := 0
	for _, l := range terminal(raw) {
		if i := strings.Index(l, `{"eventType"`); i >= 0 {
			require.Zero(t, i, "an event glued to something: %.120q", l)
			require.True(t, json.Valid([]byte(l)), "%.120q", l)
			events++
			continue
		}
		require.NotRegexp(t, `reading|computing|writing the results`, l)
	}
	require.Equal(t, 18, events)
}

// TestConfiguredLineageStillPrints: a configuration (file or variables)
// that names the console transport prints the events, as before.
func TestConfiguredLineageStillPrints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "openlineage.yml"), []byte("transport:\n  type: console\n"), 0o644))
	r := run(t, dir, nil, "run")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, []string{"START", "COMPLETE"}, eventTypes(t, r.stdout))
	require.NotContains(t, r.stderr, "local history only")

	r = run(t, t.TempDir(), []string{"OPENLINEAGE__TRANSPORT__TYPE=console"}, "run")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, []string{"START", "COMPLETE"}, eventTypes(t, r.stdout))
}
