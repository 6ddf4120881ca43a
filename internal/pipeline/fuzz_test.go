package pipeline

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/salesdag/salesdag/internal/frame"
	"github.com/stretchr/testify/require"
)

// The reference reader below implements the same dialect as the fast
// reader in the plainest possible way: one byte at a time, one state
// variable, strings everywhere and the standard library for dates and
// numbers. The fuzzer checks that both agree on every input, so the fast
// reader can neither crash nor silently accept (or reject) what the
// dialect says it should not.

type refRecord struct {
	line         int64
	newline      int // index of the newline that ends the record, -1 at EOF
	raw          string
	fields       []string
	unterminated bool
	syntax       string
	hasQuote     bool
}

// refSplit splits data (BOM removed) into records.
func refSplit(data string) []refRecord {
	const (
		fieldStart = iota
		unquoted
		quoted
		afterQuote
	)
	var recs []refRecord
	line := int64(1)
	i := 0
	for i < len(data) {
		rec := refRecord{line: line, newline: -1}
		start := i
		state := fieldStart
		var field strings.Builder
		for {
			if i == len(data) {
				if state == quoted {
					rec.unterminated = true
					rec.raw = data[start:]
				} else {
					rec.raw = strings.TrimSuffix(data[start:], "\r")
				}
				rec.fields = append(rec.fields, field.String())
				break
			}
			c := data[i]
			if c == '"' {
				rec.hasQuote = true
			}
			if c == '\n' {
				line++
			}
			switch state {
			case quoted:
				if c == '"' {
					if i+1 < len(data) && data[i+1] == '"' {
						field.WriteByte('"')
						i += 2
						continue
					}
					state = afterQuote
				} else {
					field.WriteByte(c)
				}
				i++
				continue
			}
			if c == '\n' {
				rec.raw = strings.TrimSuffix(data[start:i], "\r")
				rec.fields = append(rec.fields, field.String())
				rec.newline = i
				i++
				break
			}
			if c == '\r' && (i+1 == len(data) || data[i+1] == '\n') {
				i++
				continue
			}
			switch {
			case c == ',':
				rec.fields = append(rec.fields, field.String())
				field.Reset()
				state = fieldStart
				i++
				continue
			case c == '"' && state == fieldStart:
				state = quoted
				i++
				continue
			case c == '"' && rec.syntax == "":
				rec.syntax = `bare " in unquoted field`
			case state == afterQuote && rec.syntax == "":
				rec.syntax = "unexpected text after closing quote"
			}
			if state == fieldStart {
				state = unquoted
			}
			field.WriteByte(c)
			i++
		}
		recs = append(recs, rec)
	}
	return recs
}

func (r refRecord) blank() bool {
	return !r.hasQuote && strings.Trim(r.raw, " \t") == ""
}

var refAmount = regexp.MustCompile(`^[ \t]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t]*$`)

// refRead returns the rows (formatted like rowStrings), the rejected rows
// and an error, as the reader should.
func refRead(data string, skip bool) ([]string, []RejectedRow, error) {
	data = strings.TrimPrefix(data, "\xEF\xBB\xBF")
	if data == "" {
		return nil, nil, errors.New("header: empty")
	}
	recs := refSplit(data)
	h := 0
	for h < len(recs) && recs[h].blank() {
		h++
	}
	if h == len(recs) {
		return nil, nil, errors.New("header: none")
	}
	head := recs[h]
	if head.unterminated || !utf8.ValidString(head.raw) || head.syntax != "" {
		return nil, nil, errors.New("header: bad")
	}
	col := [4]int{-1, -1, -1, -1}
	for k, f := range head.fields {
		for c, name := range ColumnNames {
			if f == name {
				if col[c] >= 0 {
					return nil, nil, errors.New("header: duplicate")
				}
				col[c] = k
			}
		}
	}
	for _, k := range col {
		if k < 0 {
			return nil, nil, errors.New("header: missing")
		}
	}
	na := map[string]bool{}
	for _, t := range NATokens {
		na[t] = true
	}
	rows := []string{}
	var rejected []RejectedRow
	for _, rec := range recs[h+1:] {
		if rec.blank() {
			continue
		}
		reason := ""
		cells := make([]string, 4)
		switch {
		case rec.unterminated:
			reason = "unterminated quoted field"
		case !utf8.ValidString(rec.raw):
			reason = "invalid UTF-8"
		case rec.syntax != "":
			reason = rec.syntax
		case len(rec.fields) != len(head.fields):
			reason = fmt.Sprintf("expected %d fields, found %d", len(head.fields), len(rec.fields))
		}
		if reason == "" {
			d := rec.fields[col[colDate]]
			if na[d] {
				cells[0] = "~"
			} else if t, err := time.Parse("2006-01-02", d); err != nil || t.Year() < 1 || len(d) != 10 {
				reason = "invalid date (want YYYY-MM-DD)"
			} else {
				cells[0] = d
			}
		}
		if reason == "" {
			a := rec.fields[col[colAmount]]
			switch {
			case na[a]:
				cells[2] = "~"
			case !refAmount.MatchString(a):
				reason = "invalid amount (want a decimal number such as 12.50)"
			default:
				f, err := strconv.ParseFloat(strings.Trim(a, " \t"), 64)
				if err != nil && f != 0 {
					reason = "amount out of range"
				} else {
					cells[2] = frame.FormatFloat(f)
				}
			}
		}
		if reason != "" {
			// Redaction has its own tests; here it only has to be applied.
			raw := redactCustomer([]byte(rec.raw), &layout{nfields: len(head.fields), col: col})
			if len(raw) > maxRawBytes {
				raw = raw[:maxRawBytes]
			}
			rejected = append(rejected, RejectedRow{Line: rec.line, Reason: reason, Raw: raw})
			if !skip {
				return nil, nil, &BadRowError{File: "in.csv", Line: rec.line, Reason: reason}
			}
			continue
		}
		for _, c := range []int{colProduct, colCustomer} {
			if v := rec.fields[col[c]]; na[v] {
				cells[c] = "~"
			} else {
				cells[c] = v
			}
		}
		rows = append(rows, strings.Join(cells, "|"))
	}
	if len(rows) == 0 && len(rejected) == 0 {
		return nil, nil, errors.New("header only")
	}
	return rows, rejected, nil
}

// refCut is where recordCut must cut b: after the last newline that ends a
// record, as refSplit sees it.
func refCut(b []byte) int {
	cut := 0
	for _, r := range refSplit(string(b)) {
		if r.newline >= 0 {
			cut = r.newline + 1
		}
	}
	return cut
}

func checkReader(t *testing.T, data string) {
	for _, skip := range []bool{false, true} {
		wantRows, wantRej, wantErr := refRead(data, skip)
		opts := Options{}
		if skip {
			opts.OnBadRows = SkipBadRows
		}
		for _, cfg := range []struct{ chunk, workers int }{{0, 1}, {5, 2}, {17, 3}} {
			opts.chunkSize, opts.Workers = cfg.chunk, cfg.workers
			r, err := ReadSales(context.Background(), stringSource("in.csv", data), opts)
			if wantErr != nil {
				require.Error(t, err, "skip=%v %+v: reference says %v", skip, cfg, wantErr)
				var want *BadRowError
				if errors.As(wantErr, &want) {
					require.EqualError(t, err, want.Error(), "skip=%v %+v", skip, cfg)
				}
				continue
			}
			require.NoError(t, err, "skip=%v %+v", skip, cfg)
			require.Equal(t, wantRows, rowStrings(r), "skip=%v %+v", skip, cfg)
			require.Equal(t, wantRej, r.Rejected(), "skip=%v %+v", skip, cfg)
		}
	}
}

var fuzzSeeds = []string{
	hdr + "2024-01-15,P1,12.50,C1\n",
	"\xEF\xBB\xBF" + "customer_id,amount,x,date,product_id\r\n\"C\"\"1\",\" 1e2 \",,2024-02-29,\"P,\n1\"\r\n",
	hdr + ",,,\nNA,NULL,nan,#N/A\n\n  \n2024-13-01,P,1,C\n",
	hdr + "2024-01-15,\"P\"x,1,C\n2024-01-15,P\"1,1,C\n2024-01-15,\"open,1,C\n",
	hdr + "2024-01-15,P,1.2345678,C\n2024-01-15,P,-0,C\n2024-01-15,P,1e999,C\n2024-01-15,P\xff,1,C",
	hdr + "2024-01-15,P,0.000001,C\r2024-01-16,P,.5,C\r\n",
}

func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<14 {
			return
		}
		// A generous bound: a deadlock or a quadratic path fails, not hangs.
		done := make(chan struct{})
		go func() {
			defer close(done)
			checkReader(t, string(data))
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("reading %d bytes did not finish in 30s", len(data))
		}
		// The splitter cuts where the reference ends records (on the
		// BOM-free text, as the splitter sees it after the first chunk).
		b := []byte(strings.TrimPrefix(string(data), "\xEF\xBB\xBF"))
		require.Equal(t, refCut(b), recordCut(b), "%q", b)
	})
}

func TestReaderMatchesReference(t *testing.T) {
	for _, s := range fuzzSeeds {
		checkReader(t, s)
	}
	// Generated data with every kind of dirt.
	var b strings.Builder
	require.NoError(t, Generate(&b, 3000, 7))
	checkReader(t, b.String())
}

func TestRecordCut(t *testing.T) {
	cases := map[string]int{
		"":                         0,
		"abc":                      0,
		"a\nb":                     2,
		"a\nb\n":                   4,
		"\"a\nb\"\n":               6,
		"x\n\"a\nb\"":              2, // closing quote last: cannot tell "" yet
		"x\n\"a\nb\",":             2, // the newline inside the closed field is not an end
		"x\n\"a\"\"\nb\"\ny":       10,
		"x,\"a\n":                  0,
		"a\"b\nc":                  4, // a bare quote is literal
		"\"a\"\n\"b\"\n\"c\n":      8,
		"q,\"\"\n":                 5,
		"q,\"\"":                   0,
		"q\n,\"a\"\"\"\"\n\"\n":    12,
		"1,2\r\n\"3\r\n4\"\r\n5,6": 13,
	}
	for in, want := range cases {
		require.Equal(t, want, recordCut([]byte(in)), "%q", in)
		require.Equal(t, want, refCut([]byte(in)), "ref %q", in)
	}
}
