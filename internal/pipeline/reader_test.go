package pipeline

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/salesdag/salesdag/internal/frame"
	"github.com/stretchr/testify/require"
)

const hdr = "date,product_id,amount,customer_id\n"

// rowStrings renders raw rows as "date|product|amount|customer", with ~
// for null, so tests can state expected rows compactly.
func rowStrings(r *RawSales) []string {
	out := tableRows(r.Table())
	if out == nil {
		out = []string{}
	}
	return out
}

func read(t *testing.T, data string, opts Options) (*RawSales, error) {
	t.Helper()
	return ReadSales(context.Background(), stringSource("in.csv", data), opts)
}

// readAllSizes reads data with several chunk sizes and worker counts,
// checks that they all agree, and returns the rows.
func readAllSizes(t *testing.T, data string, opts Options) ([]string, []RejectedRow, error) {
	t.Helper()
	var rows []string
	var rej []RejectedRow
	var firstErr error
	for i, size := range []int{0, 1, 7, 64} {
		for _, w := range []int{1, 3} {
			o := opts
			o.chunkSize, o.Workers = size, w
			r, err := read(t, data, o)
			if i == 0 && w == 1 {
				firstErr = err
				if err == nil {
					rows, rej = rowStrings(r), r.Rejected()
				}
				continue
			}
			if firstErr != nil {
				require.EqualError(t, err, firstErr.Error(), "chunk %d workers %d", size, w)
				continue
			}
			require.NoError(t, err, "chunk %d workers %d", size, w)
			require.Equal(t, rows, rowStrings(r), "chunk %d workers %d", size, w)
			require.Equal(t, rej, r.Rejected(), "chunk %d workers %d", size, w)
		}
	}
	return rows, rej, firstErr
}

func TestReaderDialect(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"plain", hdr + "2024-01-15,P1,12.50,C1\n", []string{"2024-01-15|P1|12.5|C1"}},
		{"no trailing newline", hdr + "2024-01-15,P1,12.50,C1", []string{"2024-01-15|P1|12.5|C1"}},
		{"bom and crlf", "\xEF\xBB\xBFdate,product_id,amount,customer_id\r\n2024-01-15,P1,1,C1\r\n2024-01-16,P2,2,C2\r\n",
			[]string{"2024-01-15|P1|1.0|C1", "2024-01-16|P2|2.0|C2"}},
		{"crlf without final newline", hdr + "2024-01-15,P1,1,C1\r", []string{"2024-01-15|P1|1.0|C1"}},
		{"columns in any order plus extras", "x,customer_id,amount,y,date,product_id,z\n" +
			"a,C1,5,,2024-01-15,P1,\"q,r\"\n", []string{"2024-01-15|P1|5.0|C1"}},
		{"quoted fields with commas and doubled quotes", hdr + `2024-01-15,"P,1","12.5","C ""the"" one"` + "\n",
			[]string{`2024-01-15|P,1|12.5|C "the" one`}},
		{"quoted newline", hdr + "2024-01-15,\"P\n1\",1,\"C\r\n1\"\n2024-01-16,P2,2,C2\n",
			[]string{"2024-01-15|P\n1|1.0|C\r\n1", "2024-01-16|P2|2.0|C2"}},
		{"empty quoted field is null", hdr + `2024-01-15,"",1,C1` + "\n", []string{"2024-01-15|~|1.0|C1"}},
		{"quoted NA token is null", hdr + `2024-01-15,"NA",1,C1` + "\n", []string{"2024-01-15|~|1.0|C1"}},
		{"blank lines skipped", "\n\n" + hdr + "\n2024-01-15,P1,1,C1\n\r\n   \n\t\n2024-01-16,P2,2,C2\n\n",
			[]string{"2024-01-15|P1|1.0|C1", "2024-01-16|P2|2.0|C2"}},
		{"row of empty fields is nulls", hdr + ",,,\n", []string{"~|~|~|~"}},
		{"spaces-only ids are values", hdr + "2024-01-15,  , 3 , \n", []string{"2024-01-15|  |3.0| "}},
		{"ids are text", hdr + "2024-01-15,007,1,1e5\n", []string{"2024-01-15|007|1.0|1e5"}},
		{"long ids", hdr + "2024-01-15,PRODUCT-0000001,1,CUSTOMER-000000001\n2024-01-15,PRODUCT-0000001,1,CUSTOMER-000000002\n",
			[]string{"2024-01-15|PRODUCT-0000001|1.0|CUSTOMER-000000001", "2024-01-15|PRODUCT-0000001|1.0|CUSTOMER-000000002"}},
		{"seven and eight byte ids", hdr + "2024-01-15,ABCDEFG,1,ABCDEFG\n2024-01-15,ABCDEFGH,1,ABCDEFGH\n",
			[]string{"2024-01-15|ABCDEFG|1.0|ABCDEFG", "2024-01-15|ABCDEFGH|1.0|ABCDEFGH"}},
		{"utf-8 ids", hdr + "2024-01-15,Café,1,Zoë\n", []string{"2024-01-15|Café|1.0|Zoë"}},
		{"leap day", hdr + "2024-02-29,P,1,C\n2000-02-29,P,1,C\n0001-01-01,P,1,C\n9999-12-31,P,1,C\n",
			[]string{"2024-02-29|P|1.0|C", "2000-02-29|P|1.0|C", "0001-01-01|P|1.0|C", "9999-12-31|P|1.0|C"}},
		{"amount forms", hdr + strings.Join([]string{
			"2024-01-15,P,0,C", "2024-01-15,P,7,C", "2024-01-15,P,1.5,C", "2024-01-15,P,1.25,C",
			"2024-01-15,P,1.125,C", "2024-01-15,P,1.0625,C", "2024-01-15,P,1.03125,C", "2024-01-15,P,1.015625,C",
			"2024-01-15,P,-3.5,C", "2024-01-15,P,+3.5,C", "2024-01-15,P,1e3,C", "2024-01-15,P,1.5E-2,C",
			"2024-01-15,P,2.5e+1,C", "2024-01-15,P,  42.00  ,C", "2024-01-15,P,.5,C", "2024-01-15,P,5.,C",
			"2024-01-15,P,0012.50,C", "2024-01-15,P,-0,C", "2024-01-15,P,\t9\t,C",
		}, "\n") + "\n", []string{
			"2024-01-15|P|0.0|C", "2024-01-15|P|7.0|C", "2024-01-15|P|1.5|C", "2024-01-15|P|1.25|C",
			"2024-01-15|P|1.125|C", "2024-01-15|P|1.0625|C", "2024-01-15|P|1.03125|C", "2024-01-15|P|1.015625|C",
			"2024-01-15|P|-3.5|C", "2024-01-15|P|3.5|C", "2024-01-15|P|1000.0|C", "2024-01-15|P|0.015|C",
			"2024-01-15|P|25.0|C", "2024-01-15|P|42.0|C", "2024-01-15|P|0.5|C", "2024-01-15|P|5.0|C",
			"2024-01-15|P|12.5|C", "2024-01-15|P|-0.0|C", "2024-01-15|P|9.0|C",
		}},
		{"amounts beyond the fast paths", hdr + "2024-01-15,P,0.1234567,C\n2024-01-15,P,1e20,C\n2024-01-15,P,12345678901234567890123,C\n" +
			"2024-01-15,P,1e-400,C\n2024-01-15,P,0.30000000000000004,C\n2024-01-15,P,9007199254740993,C\n2024-01-15,P,1e23,C\n2024-01-15,P,123456789.123456789,C\n",
			[]string{"2024-01-15|P|0.1234567|C", "2024-01-15|P|1e+20|C", "2024-01-15|P|1.2345678901234568e+22|C",
				"2024-01-15|P|0.0|C", "2024-01-15|P|0.30000000000000004|C", "2024-01-15|P|9007199254740992.0|C",
				"2024-01-15|P|1e+23|C", "2024-01-15|P|123456789.12345679|C"}},
		{"rows in any date order", hdr + "2024-03-01,P,1,C\n2023-12-31,P,2,C\n2024-03-01,P,3,C\n",
			[]string{"2024-03-01|P|1.0|C", "2023-12-31|P|2.0|C", "2024-03-01|P|3.0|C"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, rej, err := readAllSizes(t, c.in, Options{})
			require.NoError(t, err)
			require.Empty(t, rej)
			require.Equal(t, c.want, rows)
		})
	}
}

func TestReaderNATokens(t *testing.T) {
	for _, tok := range NATokens {
		in := hdr + strings.Join([]string{tok, tok, tok, tok}, ",") + "\n2024-01-15,P1,1,C1\n"
		rows, _, err := readAllSizes(t, in, Options{})
		require.NoError(t, err, "%q", tok)
		require.Equal(t, []string{"~|~|~|~", "2024-01-15|P1|1.0|C1"}, rows, "%q", tok)
		r, err := read(t, in, Options{})
		require.NoError(t, err)
		require.Equal(t, [4]int64{1, 1, 1, 1}, r.nulls, "%q", tok)
	}
	// Near misses are values (ids) or bad rows (dates, amounts).
	rows, _, err := readAllSizes(t, hdr+"2024-01-15, NA,1,na\n2024-01-15,Null,1,NONE\n", Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"2024-01-15| NA|1.0|na", "2024-01-15|Null|1.0|NONE"}, rows)
	_, err = read(t, hdr+"2024-01-15,P,inf,C\n", Options{})
	require.EqualError(t, err, `in.csv:2: invalid amount (want a decimal number such as 12.50)`)
}

func TestReaderBadRows(t *testing.T) {
	cases := []struct {
		name   string
		row    string // the data line, after the header and one good row
		reason string
	}{
		{"unparsable date", "2024/01/15,P,1,C", `invalid date (want YYYY-MM-DD)`},
		{"impossible day", "2023-02-29,P,1,C", `invalid date (want YYYY-MM-DD)`},
		{"month 13", "2024-13-01,P,1,C", `invalid date (want YYYY-MM-DD)`},
		{"year 0", "0000-01-01,P,1,C", `invalid date (want YYYY-MM-DD)`},
		{"day 31 in april", "2024-04-31,P,1,C", `invalid date (want YYYY-MM-DD)`},
		{"short date", "2024-1-15,P,1,C", `invalid date (want YYYY-MM-DD)`},
		{"date with time", "2024-01-15 00:00:00,P,1,C", `invalid date (want YYYY-MM-DD)`},
		{"date with spaces", " 2024-01-15,P,1,C", `invalid date (want YYYY-MM-DD)`},
		{"spaces-only date", "   ,P,1,C", `invalid date (want YYYY-MM-DD)`},
		{"unparsable amount", "2024-01-15,P,12,50,C", "expected 4 fields, found 5"},
		{"amount with letters", "2024-01-15,P,12a,C", `invalid amount (want a decimal number such as 12.50)`},
		{"amount with two dots", "2024-01-15,P,1.2.3,C", `invalid amount (want a decimal number such as 12.50)`},
		{"amount sign only", "2024-01-15,P,-,C", `invalid amount (want a decimal number such as 12.50)`},
		{"amount dot only", "2024-01-15,P,.,C", `invalid amount (want a decimal number such as 12.50)`},
		{"amount empty exponent", "2024-01-15,P,1e,C", `invalid amount (want a decimal number such as 12.50)`},
		{"amount thousands separator", `2024-01-15,P,"1,200.50",C`, `invalid amount (want a decimal number such as 12.50)`},
		{"spaces-only amount", "2024-01-15,P,  ,C", `invalid amount (want a decimal number such as 12.50)`},
		{"amount overflow", "2024-01-15,P,1e999,C", `amount out of range`},
		{"too few fields", "2024-01-15,P,1", "expected 4 fields, found 3"},
		{"too many fields", "2024-01-15,P,1,C,", "expected 4 fields, found 5"},
		{"invalid utf-8", "2024-01-15,P\xff,1,C", "invalid UTF-8"},
		{"invalid utf-8 quoted", "2024-01-15,\"P\xff\",1,C", "invalid UTF-8"},
		{"bare quote", `2024-01-15,P"1,1,C`, `bare " in unquoted field`},
		{"text after closing quote", `2024-01-15,"P"1,1,C`, "unexpected text after closing quote"},
		{"wrong field count quoted", `2024-01-15,"P",1`, "expected 4 fields, found 3"},
		{"unterminated quote", "2024-01-15,\"P,1,C\n2024-01-16,P,2,C", "unterminated quoted field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := hdr + "2024-01-14,P0,9,C0\n" + c.row + "\n2024-01-17,P9,3,C9\n"
			_, _, err := readAllSizes(t, in, Options{})
			var bre *BadRowError
			require.ErrorAs(t, err, &bre)
			require.Equal(t, BadRowError{File: "in.csv", Line: 3, Reason: c.reason}, *bre)
			require.EqualError(t, err, "in.csv:3: "+c.reason)

			rows, rej, err := readAllSizes(t, in, Options{OnBadRows: SkipBadRows})
			require.NoError(t, err)
			require.Len(t, rej, 1)
			require.Equal(t, int64(3), rej[0].Line)
			require.Equal(t, c.reason, rej[0].Reason)
			raw := c.row
			if c.reason == "unterminated quoted field" {
				raw += "\n2024-01-17,P9,3,C9\n"
				require.Equal(t, []string{"2024-01-14|P0|9.0|C0"}, rows)
			} else {
				require.Equal(t, []string{"2024-01-14|P0|9.0|C0", "2024-01-17|P9|3.0|C9"}, rows)
			}
			require.Equal(t, redactCustomer([]byte(raw), &layout{nfields: 4, col: [4]int{0, 1, 2, 3}}), rej[0].Raw)
			require.NotContains(t, rej[0].Raw, ",C\n", "customer ids are redacted")
		})
	}
}

func TestReaderLineNumbers(t *testing.T) {
	// Physical lines: blank lines and newlines inside quotes count.
	in := "\n" + hdr + // lines 1-2
		"2024-01-15,\"multi\nline\nproduct\",1,C\n" + // lines 3-5
		"\n" + // line 6
		"2024-01-15,P,bad,C\r\n" + // line 7
		"2024-01-15,\"P\",1,C,extra\n" + // line 8
		"2024-01-15,P,1,C\n" + // line 9
		"2024-99-15,P,1,C" // line 10
	_, _, err := readAllSizes(t, in, Options{})
	require.EqualError(t, err, `in.csv:7: invalid amount (want a decimal number such as 12.50)`)
	rows, rej, err := readAllSizes(t, in, Options{OnBadRows: SkipBadRows})
	require.NoError(t, err)
	require.Equal(t, []string{"2024-01-15|multi\nline\nproduct|1.0|C", "2024-01-15|P|1.0|C"}, rows)
	require.Equal(t, []RejectedRow{
		{Line: 7, Reason: `invalid amount (want a decimal number such as 12.50)`, Raw: "2024-01-15,P,bad,<redacted>"},
		{Line: 8, Reason: "expected 4 fields, found 5", Raw: "<redacted> (5 fields)"},
		{Line: 10, Reason: `invalid date (want YYYY-MM-DD)`, Raw: "2024-99-15,P,1,<redacted>"},
	}, rej)

	r, err := read(t, in, Options{OnBadRows: SkipBadRows})
	require.NoError(t, err)
	tab := r.RejectedTable()
	require.NoError(t, tab.Validate())
	require.Equal(t, []frame.Field{{Name: "line", Type: "int64"}, {Name: "reason", Type: "string"}, {Name: "raw", Type: "string"}}, tab.Schema())
	require.Equal(t, []int64{7, 8, 10}, tab.Columns[0].Ints)
	require.Equal(t, "2024-01-15,P,bad,<redacted>", tab.Columns[2].Strings[0])
}

func TestReaderRejectedRawIsCapped(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	r, err := read(t, hdr+"2024-01-15,"+long+",x,C\n2024-01-15,P,1,C\n", Options{OnBadRows: SkipBadRows})
	require.NoError(t, err)
	require.Len(t, r.Rejected(), 1)
	require.Len(t, r.Rejected()[0].Raw, maxRawBytes)
	r, err = read(t, hdr+"2024-01-15,P\xff,1,C\n2024-01-15,P,1,C\n", Options{OnBadRows: SkipBadRows})
	require.NoError(t, err)
	require.Equal(t, "2024-01-15,P\uFFFD,1,<redacted>", r.RejectedTable().Columns[2].Strings[0])
	require.Equal(t, "2024-01-15,P\xff,1,<redacted>", r.Rejected()[0].Raw)
}

func TestReaderHeaderErrors(t *testing.T) {
	cases := []struct {
		name, in, err string
	}{
		{"empty", "", "input in.csv: file is empty"},
		{"only blank lines", "\n\r\n  \n", "input in.csv: no header row (only blank lines)"},
		{"bom only", "\xEF\xBB\xBF", "input in.csv: no header row (only blank lines)"},
		{"header only", hdr, "input in.csv: no data rows, only a header"},
		{"header and blank lines", hdr + "\n\n", "input in.csv: no data rows, only a header"},
		{"missing column", "date,product_id,amt,customer_id\n2024-01-15,P,1,C\n",
			`in.csv:1: missing required column amount (header has: date,product_id,amt,customer_id; need date,product_id,amount,customer_id)`},
		{"missing columns", "\ndate;product_id;amount;customer_id\n",
			`in.csv:2: missing required columns date, product_id, amount, customer_id (header has: date;product_id;amount;customer_id; need date,product_id,amount,customer_id)`},
		{"case matters", "Date,product_id,amount,customer_id\n",
			`in.csv:1: missing required column date (header has: Date,product_id,amount,customer_id; need date,product_id,amount,customer_id)`},
		{"duplicate column", "date,product_id,amount,customer_id,amount\n", `in.csv:1: column "amount" appears twice in the header`},
		{"header unterminated quote", "\"date,product_id,amount,customer_id\n", "in.csv:1: header: unterminated quoted field"},
		{"header bad utf-8", "date,product_id\xff,amount,customer_id\n", "in.csv:1: header: invalid UTF-8"},
		{"header bare quote", "da\"te,product_id,amount,customer_id\n", `in.csv:1: header: bare " in unquoted field`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readAllSizes(t, c.in, Options{OnBadRows: SkipBadRows})
			require.EqualError(t, err, c.err)
		})
	}
	// A quoted header works.
	rows, _, err := readAllSizes(t, `"date","product_id","amount","customer_id"`+"\n2024-01-15,P,1,C\n", Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"2024-01-15|P|1.0|C"}, rows)
}

func TestReaderAllRowsRejected(t *testing.T) {
	r, err := read(t, hdr+"x,P,1,C\n", Options{OnBadRows: SkipBadRows})
	require.NoError(t, err)
	require.Equal(t, 0, r.Len())
	_, err = CleanedSales(context.Background(), r)
	require.EqualError(t, err, "input in.csv: no valid rows after cleaning: all 0 rows have a null field or an amount <= 0 (and 1 bad rows were skipped)")
}

func TestReaderLongRecord(t *testing.T) {
	// A record longer than the chunk makes the splitter grow its buffer.
	big := strings.Repeat("p", 3000)
	rows, _, err := readAllSizes(t, hdr+"2024-01-15,\""+big+"\n"+big+"\",1,C\n2024-01-16,P,2,C\n", Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"2024-01-15|" + big + "\n" + big + "|1.0|C", "2024-01-16|P|2.0|C"}, rows)
}

func TestReaderSourceErrors(t *testing.T) {
	ctx := context.Background()
	_, err := ReadSales(ctx, Source{Name: "x"}, Options{})
	require.EqualError(t, err, "input x: no way to open it")

	_, err = ReadSales(ctx, Source{Name: "x", Open: func() (io.ReadCloser, error) { return nil, os.ErrPermission }}, Options{})
	require.ErrorIs(t, err, os.ErrPermission)
	require.ErrorContains(t, err, "input x: cannot be opened")

	failing := Source{Name: "x", Open: func() (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(strings.NewReader(hdr+"2024-01-15,P,1,C\n"), iotest.ErrReader(errors.New("disk on fire")))), nil
	}}
	_, err = ReadSales(ctx, failing, Options{chunkSize: 8})
	require.ErrorContains(t, err, "reading x: disk on fire")

	// A reader that trickles one byte at a time still works.
	slow := Source{Name: "x", Open: func() (io.ReadCloser, error) {
		return io.NopCloser(iotest.OneByteReader(strings.NewReader(hdr + "2024-01-15,\"P\n\",1,C\n"))), nil
	}}
	r, err := ReadSales(ctx, slow, Options{chunkSize: 4})
	require.NoError(t, err)
	require.Equal(t, []string{"2024-01-15|P\n|1.0|C"}, rowStrings(r))
}

func TestReaderCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var data strings.Builder
	require.NoError(t, Generate(&data, 5000, 1))
	_, err := ReadSales(ctx, stringSource("in.csv", data.String()), Options{chunkSize: 1024})
	require.ErrorIs(t, err, context.Canceled)
}

func TestReaderProgress(t *testing.T) {
	var data strings.Builder
	require.NoError(t, Generate(&data, 2000, 1))
	var seen, rows []int64
	r, err := ReadSales(context.Background(), stringSource("in.csv", data.String()),
		Options{chunkSize: 4096, Progress: func(n, rs int64) { seen = append(seen, n); rows = append(rows, rs) }})
	require.NoError(t, err)
	require.Greater(t, len(seen), 5)
	require.Equal(t, int64(data.Len()), seen[len(seen)-1])
	require.Equal(t, int64(r.Len()), rows[len(rows)-1])
	for i := 1; i < len(seen); i++ {
		require.GreaterOrEqual(t, seen[i], seen[i-1])
		require.GreaterOrEqual(t, rows[i], rows[i-1])
	}
}

func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	_, err := FileSource(filepath.Join(dir, "nope.csv"))
	require.ErrorContains(t, err, "nope.csv: file does not exist")
	_, err = FileSource(dir)
	require.ErrorContains(t, err, "is a directory")
	empty := filepath.Join(dir, "empty.csv")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, err = FileSource(empty)
	require.ErrorContains(t, err, "empty.csv: file is empty")
	if os.Getuid() != 0 { // root reads anything
		locked := filepath.Join(dir, "locked.csv")
		require.NoError(t, os.WriteFile(locked, []byte(hdr), 0o000))
		_, err = FileSource(locked)
		require.ErrorContains(t, err, "cannot be read")
	}

	good := filepath.Join(dir, "good.csv")
	require.NoError(t, os.WriteFile(good, []byte(hdr+"2024-01-15,P,1,C\n"), 0o644))
	src, err := FileSource(good)
	require.NoError(t, err)
	require.True(t, filepath.IsAbs(src.Path))
	require.Equal(t, good, src.Name)
	require.Equal(t, int64(len(hdr)+17), src.Size)
	r, err := ReadSales(context.Background(), src, Options{})
	require.NoError(t, err)
	require.Equal(t, 1, r.Len())
	require.Equal(t, src.Size, r.BytesRead())
	require.Equal(t, good, r.Name())
}

func TestSampleSource(t *testing.T) {
	src := SampleSource()
	require.Empty(t, src.Path)
	want, err := os.ReadFile(filepath.Join("testdata", "fixture", "sales_raw.csv"))
	require.NoError(t, err)
	rc, err := src.Open()
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	require.Equal(t, int64(len(want)), src.Size)
}

func TestBadRowPolicy(t *testing.T) {
	for in, want := range map[string]BadRowPolicy{"fail": FailOnBadRows, "": FailOnBadRows, "SKIP": SkipBadRows, " skip ": SkipBadRows} {
		got, err := ParseBadRowPolicy(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := ParseBadRowPolicy("ignore")
	require.EqualError(t, err, `unknown bad-row policy "ignore" (use fail or skip)`)
	require.Equal(t, "fail", FailOnBadRows.String())
	require.Equal(t, "skip", SkipBadRows.String())
}

func TestReaderNullAmountsAreNaN(t *testing.T) {
	r, err := read(t, hdr+"2024-01-15,P,0.1,C\n2024-01-15,P,,C\n2024-01-15,P,NaN,C\n", Options{})
	require.NoError(t, err)
	f := r.Table().Columns[2].Floats
	require.Equal(t, 0.1, f[0])
	require.True(t, math.IsNaN(f[1]))
	require.True(t, math.IsNaN(f[2]))
	require.Equal(t, int64(2), r.nulls[colAmount])
}
