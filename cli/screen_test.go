package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/output"
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

func TestScreenClearsTheStatusLineBeforeAnyWrite(t *testing.T) {
	var b bytes.Buffer
	s := newScreen(&b)
	_, _ = s.Write([]byte("first\n"))
	s.status("reading x: 50%")
	_, _ = s.Write([]byte("level=WARN something\n"))
	_, _ = s.Write([]byte("more\n"))
	s.status("computing y")
	s.clear()
	s.clear()
	require.Equal(t, "first\n"+clearLine+"reading x: 50%"+clearLine+"level=WARN something\nmore\n"+clearLine+"computing y"+clearLine, b.String())
	require.Equal(t, []string{"first", "level=WARN something", "more"}, terminal(b.String()))
}

func TestProgressLine(t *testing.T) {
	require.Equal(t, "reading sales.csv: 50.0 MiB of 100.0 MiB (50%), 1,500,000 rows, 52 MB/s",
		readLine("sales.csv", 50<<20, 100<<20, 1_500_000, time.Second))
	require.Equal(t, "reading in.csv: 512 B, 1 row", readLine("in.csv", 512, 0, 1, 0), "a pipe has no size")

	var b bytes.Buffer
	p := newProgress(newScreen(&b), []string{"/data/sales.csv"})
	p.read(50<<20, 100<<20, 1_500_000)
	require.Contains(t, b.String(), "reading sales.csv: 50.0 MiB of 100.0 MiB (50%), 1,500,000 rows")
	b.Reset()
	p.read(60<<20, 100<<20, 1_800_000) // within 100 ms of the last redraw: skipped
	require.Empty(t, b.String())
	p.writing()
	require.Equal(t, clearLine+"writing the results", b.String())
}

func TestSummary(t *testing.T) {
	res := &app.RunResult{
		Source:   pipeline.Source{Name: "sales.csv"},
		RowsRead: 5_000_000, RowsKept: 4_950_001, Rejected: 1,
		Written: []output.Written{
			{Path: "/elsewhere/daily_sales_summary.csv", Rows: 365, Bytes: 14_000},
			{Path: "/elsewhere/trend_analysis.json", Rows: 1, Bytes: 291},
		},
	}
	recorded := &lineageSession{historyOnly: true, runID: uuid.MustParse("01a244d2-6847-7a2f-a8b7-70107e4b07d1")}
	recorded.events.Store(18)
	got := screenSummary{res: res, took: 1234567 * time.Microsecond, session: recorded}.String(nil)
	require.Contains(t, got, "salesdag: read 5,000,000 rows from sales.csv, kept 4,950,001, rejected 1; wrote 2 files in 1.23s\n")
	require.Regexp(t, `/elsewhere/daily_sales_summary\.csv +365 rows +13\.7 KiB\n`, got)
	require.Regexp(t, `/elsewhere/trend_analysis\.json +1 row +291 B\n`, got)
	require.True(t, strings.HasSuffix(got, "lineage: not sent and not recorded (set OPENLINEAGE_URL to send, --lineage console to print)\nPASS\n"), got)

	cases := []struct {
		name     string
		session  *lineageSession
		warnings int
		err      error
		want     string
	}{
		{"pass", &lineageSession{}, 0, nil, "PASS\n"},
		{"warnings", &lineageSession{}, 2, nil, "WARN  2 warnings above\n"},
		{"undelivered", &lineageSession{report: &lineage.Report{Emitted: 18, Sent: 3}}, 1, nil,
			"WARN  lineage events not delivered (saved to the outbox); 1 warning above\n"},
		{"delivered", &lineageSession{report: &lineage.Report{Emitted: 18, Sent: 18}}, 0, nil, "PASS\n"},
		{"failed checks", &lineageSession{}, 0, &checks.FailedError{}, "FAIL  0 of 0 checks failed\n"},
		{"failed", &lineageSession{}, 0, errors.New("disk full"), "FAIL  the run failed\n"},
		{"strict", &lineageSession{report: &lineage.Report{Emitted: 18, Sent: 3}}, 0, &exitError{code: exitLineage, err: errors.New("x")},
			"FAIL  lineage events not delivered (--lineage-strict); the results were written\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, screenSummary{res: res, session: tc.session, warnings: tc.warnings}.status(tc.err))
		})
	}
}

// TestScreenWithConsoleEvents: asked for, console events share the
// terminal with the progress line; each event is a line of its own.
