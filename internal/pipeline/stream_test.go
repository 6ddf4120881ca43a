package pipeline

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// streamCase is an input with what streaming mode must get right: a BOM,
// CRLF, quoted fields with line breaks and commas, duplicates of such
// rows far apart, nulls, bad rows, ids of mixed shapes.
func streamCase(seed uint64, rows int) string {
	rng := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	if seed%2 == 0 {
		b.WriteString("\uFEFF")
	}
	b.WriteString("date,product_id,amount,customer_id\r\n")
	var prev []string
	for i := range rows {
		if len(prev) > 0 && rng.IntN(8) == 0 {
			b.WriteString(prev[rng.IntN(len(prev))]) // a duplicate, near or far
			continue
		}
		date := fmt.Sprintf("2024-%02d-%02d", 1+rng.IntN(3), 1+rng.IntN(28))
		prod := fmt.Sprintf("P%d", rng.IntN(40))
		switch rng.IntN(12) {
		case 0:
			prod = "NA"
		case 1:
			prod = fmt.Sprintf("\"P,%d\nx\"", rng.IntN(3)) // quoted, with a comma and a line break
		case 2:
			prod = "LONG-PRODUCT-ID-" + fmt.Sprint(rng.IntN(5))
		}
		amt := fmt.Sprintf("%d.%02d", rng.IntN(500), rng.IntN(100))
		switch rng.IntN(15) {
		case 0:
			amt = ""
		case 1:
			amt = "-" + amt
		case 2:
			amt = "0"
		case 3:
			amt = "1e2"
		case 4:
			amt = "\"" + amt + "\""
		}
		cust := fmt.Sprintf("C%05d", rng.IntN(300))
		switch rng.IntN(10) {
		case 0:
			cust = fmt.Sprintf("K%d", rng.IntN(50)) // another shape
		case 1:
			cust = fmt.Sprintf("CUSTOMER-%d", rng.IntN(30)) // long: dictionary
		case 2:
			cust = "null"
		}
		end := "\n"
		if rng.IntN(3) == 0 {
			end = "\r\n"
		}
		line := strings.Join([]string{date, prod, amt, cust}, ",") + end
		if i > 0 && rng.IntN(97) == 0 {
			line = "2024-13-01,P1,1.00,C1" + end // a bad date
		}
		if rng.IntN(50) == 0 {
			b.WriteString("\n") // a blank line
		}
		b.WriteString(line)
		prev = append(prev, line)
	}
	return b.String()
}

// TestStreamingEqualsRows: streaming mode (aggregates while parsing, rows
// read again on demand) and rows mode give the same results, profile and
// tables, for every worker count and chunk size.
func TestStreamingEqualsRows(t *testing.T) {
	for seed := range uint64(6) {
		data := streamCase(seed, 300+int(seed)*700)
		for _, policy := range []BadRowPolicy{SkipBadRows, FailOnBadRows} {
			base := Options{OnBadRows: policy, KeepRows: true}
			want := runAll(stringSource("in.csv", data), base)
			var wantProf InputProfile
			var wantRaw, wantCleaned []string
			if want.err == "" {
				r, err := ReadSales(t.Context(), stringSource("in.csv", data), base)
				require.NoError(t, err)
				wantProf = mustProfile(t, r)
				wantRaw = tableRows(r.Table())
				c, err := CleanedSales(t.Context(), r)
				require.NoError(t, err)
				wantCleaned = tableRows(c.Table())
			}
			for _, cfg := range runConfigs {
				for _, prof := range []bool{false, true} {
					opts := Options{OnBadRows: policy, Workers: cfg.workers, chunkSize: cfg.chunk, Profile: prof}
					got := runAll(stringSource("in.csv", data), opts)
					msg := fmt.Sprintf("seed %d %v chunk %d workers %d profile %v", seed, policy, cfg.chunk, cfg.workers, prof)
					require.Equal(t, want, got, msg)
					if want.err != "" {
						continue
					}
					r, err := ReadSales(t.Context(), stringSource("in.csv", data), opts)
					require.NoError(t, err)
					require.NotNil(t, r.agg, "streaming mode")
					require.Equal(t, wantProf, mustProfile(t, r), msg)
					require.Equal(t, wantRaw, tableRows(r.Table()), msg)
					c, err := CleanedSales(t.Context(), r)
					require.NoError(t, err)
					require.Equal(t, wantCleaned, tableRows(c.Table()), msg)
				}
			}
		}
	}
}

// TestStreamingFileChanged: a file rewritten after the read (same size)
// is noticed when its rows are read again to confirm duplicates.
func TestStreamingFileChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.csv")
	data := "date,product_id,amount,customer_id\n2024-01-01,P1,1.00,C1\n2024-01-01,P1,1.00,C1\n"
	require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
	src, err := FileSource(path)
	require.NoError(t, err)
	r, err := ReadSales(t.Context(), src, Options{})
	require.NoError(t, err)
	require.NotNil(t, r.agg)
	changed := bytes.Replace([]byte(data), []byte("C1\n2024"), []byte("C2\n2024"), 1)
	require.NoError(t, os.WriteFile(path, changed, 0o644))
	require.NoError(t, os.Chtimes(path, r.watch.mtime.Add(1e9), r.watch.mtime.Add(1e9)))
	_, err = r.duplicates()
	require.ErrorIs(t, err, ErrInputChanged)
}

// TestIDSet: the shaped bit set and the hash set together count exactly,
// whatever shapes come first, and merge exactly.
func TestIDSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := []string{}
	for range 3000 {
		switch rng.IntN(6) {
		case 0:
			ids = append(ids, fmt.Sprintf("K%d", rng.IntN(100)))
		case 5: // the shape's length and prefix, one byte not a digit
			id := []byte(fmt.Sprintf("C%05d", rng.IntN(2000)))
			id[1+rng.IntN(5)] = ":/ a\xff\x00\xba"[rng.IntN(7)]
			ids = append(ids, string(id))
		case 1:
			ids = append(ids, fmt.Sprintf("C%04d", rng.IntN(500)))
		case 2:
			ids = append(ids, fmt.Sprintf("AB%d", rng.IntN(10_000_000)))
		case 3:
			ids = append(ids, "x")
		default:
			ids = append(ids, fmt.Sprintf("C%05d", rng.IntN(2000)))
		}
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	key := func(id string) uint64 { return idKey(len(id), word([]byte(id))) }
	for split := range []int{0, 1, 2, 3} {
		parts := []*idSet{newIDSet(), newIDSet(), newIDSet()}
		for i, id := range ids {
			parts[(i*(split+1)/7)%3].add(key(id))
		}
		parts[0].merge(parts[1])
		parts[2].merge(parts[0])
		require.Equal(t, int64(len(want)), parts[2].len(), "split %d", split)
	}
}

// TestRangeBits: growing, freezing and merging keep every value exactly
// once.
func TestRangeBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	want := map[int64]bool{}
	var a, b rangeBits
	for i := range 20000 {
		v := int64(rng.IntN(1000)) - 500
		switch rng.IntN(10) {
		case 0:
			v = int64(rng.Uint64() >> 1)
		case 1:
			v = -int64(rng.IntN(1 << 30))
		}
		want[v] = true
		if i%2 == 0 {
			a.add(v)
		} else {
			b.add(v)
		}
	}
	a.merge(&b)
	require.Equal(t, int64(len(want)), a.len())
}
