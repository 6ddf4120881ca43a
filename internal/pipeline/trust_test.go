package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/dag"
)

// TestParallelForRaisesWorkerPanic: a panic in a worker goroutine once
// ended the process (nothing can recover another goroutine's panic). It
// is raised again in the caller, as a *dag.PanicError with the worker's
// stack, after every worker stopped.
func TestParallelForRaisesWorkerPanic(t *testing.T) {
	for _, workers := range []int{2, 4} {
		var got any
		func() {
			defer func() { got = recover() }()
			parallelFor(100, workers, func(_, i int) {
				if i == 37 {
					var s []int
					_ = s[i] // index out of range
				}
			})
		}()
		pe, ok := got.(*dag.PanicError)
		require.True(t, ok, "workers %d: got %T %v", workers, got, got)
		require.Contains(t, pe.Error(), "index out of range")
		require.Contains(t, string(pe.Stack), "trust_test.go", "the stack of the goroutine that panicked")
	}
}

// TestParseJobPanicIsAnError: a panic in a parsing worker becomes the
// chunk's error, not a crash of the process.
func TestParseJobPanicIsAnError(t *testing.T) {
	j := &job{buf: []byte("x\n"), n: 2, done: make(chan struct{})}
	parseJob(&parser{}, j) // no layout: parse dereferences nil
	var pe *dag.PanicError
	require.ErrorAs(t, j.err, &pe)
}

// TestReaderGoroutinePanicIsAnError: a panic in the goroutine that reads
// chunks fails ReadSales with a *dag.PanicError.
func TestReaderGoroutinePanicIsAnError(t *testing.T) {
	data := hdr + strings.Repeat("2024-01-01,P1,5.00,C1\n", 200)
	calls := 0
	_, err := read(t, data, Options{chunkSize: 256, afterChunk: func(int64) {
		if calls++; calls == 3 {
			panic("reader broke")
		}
	}})
	var pe *dag.PanicError
	require.ErrorAs(t, err, &pe)
	require.EqualError(t, err, "panic: reader broke")
}

// TestProfilePanicCostsOnlyTheProfile: a failing profile (a bug) is an
// error from Profile, every time it is asked, and the rows are untouched.
func TestProfilePanicCostsOnlyTheProfile(t *testing.T) {
	profileFault = func() { panic("profile broke") }
	t.Cleanup(func() { profileFault = nil })
	r, err := read(t, hdr+"2024-01-01,P1,5.00,C1\n2024-01-02,P2,1.1,C2\n", Options{})
	require.NoError(t, err)
	for range 2 {
		p, err := r.Profile()
		require.EqualError(t, err, "panic: profile broke")
		require.Equal(t, InputProfile{}, p)
	}
	require.Equal(t, []string{"2024-01-01|P1|5.0|C1", "2024-01-02|P2|1.1|C2"}, rowStrings(r))
}

// writeSales writes a valid input of n rows and returns its path.
func writeSales(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(hdr)
	for i := range n {
		fmt.Fprintf(&b, "2024-01-%02d,P%d,%d.25,C%d\n", i%28+1, i%13, i%97+1, i%31)
	}
	path := filepath.Join(t.TempDir(), "sales.csv")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

// TestInputChangedWhileRead changes the file between two chunks of the
// read (a hook of the reading goroutine makes it deterministic): the read
// fails with ErrInputChanged naming the file, whatever the rows read so
// far looked like, at any worker count and bad-row policy.
func TestInputChangedWhileRead(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, path string)
		detail string
	}{
		{"truncated", func(t *testing.T, path string) { require.NoError(t, os.Truncate(path, 3000)) }, "size went from"},
		{"truncated mid-line", func(t *testing.T, path string) { require.NoError(t, os.Truncate(path, 3007)) }, "size went from"},
		{"appended", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.WriteString("2024-02-01,P1,1.00,C1\n")
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}, "size went from"},
		{"rewritten in place", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.WriteAt([]byte("2024-03-01"), int64(len(hdr)))
			require.NoError(t, err)
			require.NoError(t, f.Close())
			// Timestamps can be coarser than the test: make the change visible.
			later := time.Now().Add(time.Minute)
			require.NoError(t, os.Chtimes(path, later, later))
		}, "modified during the read"},
	}
	for _, tc := range cases {
		for _, policy := range []BadRowPolicy{FailOnBadRows, SkipBadRows} {
			for _, workers := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/%v/%d", tc.name, policy, workers), func(t *testing.T) {
					path := writeSales(t, 2000)
					src, err := FileSource(path)
					require.NoError(t, err)
					chunks := 0
					opts := Options{Workers: workers, OnBadRows: policy, chunkSize: 1024, afterChunk: func(int64) {
						if chunks++; chunks == 1 {
							tc.change(t, path)
						}
					}}
					raw, err := ReadSales(context.Background(), src, opts)
					require.Nil(t, raw)
					require.ErrorIs(t, err, ErrInputChanged)
					require.ErrorContains(t, err, "input changed while it was being read: "+path)
					require.ErrorContains(t, err, tc.detail)
				})
			}
		}
	}
}

// TestInputChangeAfterOpenIsSeen: a file that changes size between open
// and the end of a read that did see all of it still fails (stat
// before/after), and an unchanged file passes the same checks.
func TestInputChangeAfterOpenIsSeen(t *testing.T) {
	path := writeSales(t, 500)
	src, err := FileSource(path)
	require.NoError(t, err)
	raw, err := ReadSales(context.Background(), src, Options{chunkSize: 1024, afterChunk: func(int64) {}})
	require.NoError(t, err, "an unchanged file reads fine")
	require.Equal(t, 500, raw.Len())

	// The whole file fits one chunk: the change comes after the last read.
	done := false
	_, err = ReadSales(context.Background(), src, Options{afterChunk: func(int64) {
		if !done {
			done = true
			require.NoError(t, os.Truncate(path, 100))
		}
	}})
	require.ErrorIs(t, err, ErrInputChanged)
}

// TestFileWatchShortRead: a read that ends before the size the file had
// when opened is a change even when the size is back by the end.
func TestFileWatchShortRead(t *testing.T) {
	path := writeSales(t, 10)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	w := watchFile(f, false)
	require.NotNil(t, w)
	require.NoError(t, w.check("in.csv", st.Size(), true))
	err = w.check("in.csv", st.Size()-5, true)
	require.ErrorIs(t, err, ErrInputChanged)
	require.ErrorContains(t, err, fmt.Sprintf("read %d bytes of %d", st.Size()-5, st.Size()))
	require.NoError(t, w.check("in.csv", st.Size()-5, false), "an unfinished read (a bad row stopped it) is not short")
	require.Nil(t, watchFile(f, true), "a stream is not watched")
}

// TestHeaderlessFileIsNotQuoted: the first line of a file without a header
// is data; the error says the header is missing without quoting it. A
// real header with a missing column is still quoted (it helps).
func TestHeaderlessFileIsNotQuoted(t *testing.T) {
	cases := []struct{ name, in string }{
		{"headerless", "2024-01-01,P1,5.00,CUSTSECRET21\n2024-01-02,P2,6.00,CUSTSECRET22\n"},
		{"headerless extra column", "2024-01-01,P1,5.00,CUSTSECRET21,x\n"},
		{"headerless shifted", "CUSTSECRET21,2024-01-01,P1,5.00\n"},
		{"garbled", "\x00\x01CUSTSECRET21\x02;;\n"},
		{"proc-like", "Name:\tCUSTSECRET21\nUmask:\t0022\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := read(t, tc.in, Options{})
			require.Error(t, err)
			require.NotContains(t, err.Error(), "CUSTSECRET")
			require.Contains(t, err.Error(), "in.csv:1: ")
			if !strings.Contains(err.Error(), "invalid UTF-8") && !strings.Contains(err.Error(), "header: ") {
				require.Contains(t, err.Error(), "no header line")
			}
		})
	}
	_, err := read(t, "Date, Product ID,amt,CUST\n2024-01-01,P1,5.00,CUSTSECRET21\n", Options{})
	require.EqualError(t, err, "in.csv:1: missing required columns date, product_id, amount, customer_id (header has: Date, Product ID,amt,CUST; need date,product_id,amount,customer_id)")
}

// TestShiftedColumnsNeverQuoteAnId: with a header but the data shifted,
// an id lands in the date or amount column; the bad-row reason must not
// quote it (fail mode: the error; skip mode: the reasons).
func TestShiftedColumnsNeverQuoteAnId(t *testing.T) {
	in := hdr + "CUSTSECRET21,2024-01-01,P1,5.00\n2024-01-01,P1,CUSTSECRET22,5.00\n2024-01-01,P1,5.00,C1\n"
	_, err := read(t, in, Options{})
	require.EqualError(t, err, "in.csv:2: invalid date (want YYYY-MM-DD)")
	r, err := read(t, in, Options{OnBadRows: SkipBadRows})
	require.NoError(t, err)
	require.Len(t, r.Rejected(), 2)
	for _, rr := range r.Rejected() {
		require.NotContains(t, rr.Reason, "CUSTSECRET")
	}
}

// TestQuotedHeaderStaysOneLine: a header quoted in a message keeps it on
// one line even when a quoted field holds a line break or a CR.
func TestQuotedHeaderStaysOneLine(t *testing.T) {
	_, err := read(t, "date,\"product\nid\",amount,\"customer_id\r\"\n2024-01-01,P1,5.00,C1\n", Options{})
	require.EqualError(t, err, `in.csv:1: missing required columns product_id, customer_id (header has: date,"product\nid",amount,"customer_id\r"; need date,product_id,amount,customer_id)`)
	require.NotContains(t, err.Error(), "\n")
	require.NotContains(t, err.Error(), "\r")
}
