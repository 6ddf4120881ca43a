package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Field values that the fast path must either take exactly as the general
// path does or leave to it: every shape next to the common one.
var (
	trickyDates = []string{
		"2024-01-15", "2024-01-15", "2024-01-16", "2024-02-29", "2023-02-29", "2024-13-01",
		"2024-00-10", "2024-04-31", "2024-04-30", "0000-01-01", "0001-01-01", "9999-12-31",
		"2024-1-15", "2024-01-015", "2024/01/15", " 2024-01-15", "2024-01-15 ", "", "NA",
		"2024-01-1\xff", "2024-01-1a", "2024-0:-15", "20240115", "2024-01-15\r", "1970-01-01",
	}
	trickyProducts = []string{
		"P0302", "P0302", "P0151", "P1", "PROD0001", "PRODUCT09", "LONG-PRODUCT-ID-1", "",
		"NA", "N/A", "nan", "NULL", "#N/A N/A", "-1.#IND", "1.#QNAN", "<NA>", "None", "1",
		"Pé", "P\xff", "P\r", " P1", "P1 ", "\"P,1\"", "P\"1", "\x00",
	}
	trickyAmounts = []string{
		"611.80", "16303.42", "0.5", "12", "123456789", "12345678", "1234567.8", "1.2345678",
		".5", "5.", ".", "-1.00", "+1", "-0", "0", "0.00", "00000001", "1e2", "1E-2", "1e999",
		"", "nan", "NaN", "NA", " 1.0", "1.0 ", "1..0", "1.2.3", "99999999", "9999999.9",
		"9999999999999999999999", "0.0000001", "1,5", "١", "1\xff", "\"12.50\"", "0x10", "inf",
	}
	trickyCustomers = []string{
		"C12536", "C12536", "C1", "C", "CUSTOME", "CUSTOMER", "CUSTOMER-1", "", "null", "NA",
		"N/A", "1.#IND", "-NaN", "é", "C\xff", "C1\r", "C1,X", "C\x00", "1", "#", "C 1", "\"C1\"",
	}
	trickyEnds = []string{"\n", "\n", "\n", "\r\n", "\r\r\n", "\r"}
)

// trickyCSV is a header and rows drawn from the tricky values: mostly the
// common shape, sometimes one odd field, a blank line, a field too many
// or too few; the last row may lack its newline.
func trickyCSV(rng *rand.Rand, rows int, quotes bool) string {
	pick := func(vals []string) string {
		if rng.IntN(3) > 0 {
			return vals[rng.IntN(3)]
		}
		v := vals[rng.IntN(len(vals))]
		if !quotes && strings.ContainsRune(v, '"') {
			return vals[0]
		}
		return v
	}
	var b strings.Builder
	b.WriteString(hdr)
	for i := range rows {
		f := []string{pick(trickyDates), pick(trickyProducts), pick(trickyAmounts), pick(trickyCustomers)}
		switch rng.IntN(40) {
		case 0:
			f = f[:3]
		case 1:
			f = append(f, "x")
		case 2:
			b.WriteString("\n")
		case 3:
			b.WriteString("  \r\n")
		}
		b.WriteString(strings.Join(f, ","))
		if i < rows-1 || rng.IntN(2) == 0 {
			b.WriteString(pick(trickyEnds))
		}
	}
	return b.String()
}

// parsedChunk is everything a parser leaves after parsing chunks, in a
// comparable form.
type parsedChunk struct {
	dates          []int32
	prods          []uint32
	custs          []uint64
	amts           []uint64 // bits: NaN for null
	nulls          [4]int64
	minDate        int32
	maxDate        int32
	rejected       []RejectedRow
	fatal          *RejectedRow
	rows, cleaned  int
	aggDates       []int32
	aggAmts        []float64
	pairs          map[uint64]bool
	dups           [][]uint64
	prodArena      string
	prodOffs       []int
	custArena      string
	custOffs       []int
	prof           *profAgg
	profCustsCount int64
}

// parseChunks parses data (after its header line) as the chunks that
// start at the given offsets, with the fast path or not, in rows mode or
// streaming mode (with the profile). The bytes past each chunk's end are
// junk that must never be read as data.
func parseChunks(t *testing.T, data string, cuts []int, fast, stream bool, skip bool) parsedChunk {
	t.Helper()
	lay := &layout{nfields: 4, col: [4]int{0, 1, 2, 3}}
	p := newParser(lay, skip, 0)
	p.fast = fast
	if stream {
		p.agg = newWorkerAgg(make(chan chunkAgg, 1), true, true)
	}
	var out parsedChunk
	out.minDate, out.maxDate = math.MaxInt32, math.MinInt32
	line := int64(2)
	for k, start := range cuts {
		end := len(data)
		if k+1 < len(cuts) {
			end = cuts[k+1]
		}
		chunk := data[start:end]
		buf := append([]byte(chunk), []byte(",1,\n2024-01-15,P1,1.5,C1\n9,\r\n")...)
		buf = append(buf, make([]byte, pad)...)
		var res chunkResult
		p.base = int64(start)
		p.parse(buf, 0, len(chunk), line, &res)
		line += int64(strings.Count(chunk, "\n"))
		s := &res.seg
		out.dates = append(out.dates, s.dates...)
		out.prods = append(out.prods, s.prods...)
		out.custs = append(out.custs, s.custs...)
		for _, v := range s.amts {
			out.amts = append(out.amts, math.Float64bits(v))
		}
		for c := range out.nulls {
			out.nulls[c] += res.nulls[c]
		}
		out.minDate, out.maxDate = min(out.minDate, res.minDate), max(out.maxDate, res.maxDate)
		out.rejected = append(out.rejected, res.rejected...)
		if res.fatal != nil {
			out.fatal = res.fatal
			break
		}
		out.rows += res.agg.rows
		out.cleaned += res.agg.cleaned
		out.aggDates = append(out.aggDates, res.agg.dates...)
		out.aggAmts = append(out.aggAmts, res.agg.amts...)
	}
	if a := p.agg; a != nil {
		out.pairs = map[uint64]bool{}
		a.eachPair(func(d int32, c uint32) { out.pairs[uint64(uint32(d))<<32|uint64(c)] = true })
		for part := range dupNParts {
			var es []uint64
			a.dups.each(part, func(e uint64) { es = append(es, e) })
			out.dups = append(out.dups, es)
		}
		out.prof = a.prof
		out.profCustsCount = a.prof.custs.len()
	}
	out.prodArena, out.prodOffs = string(p.prods.arena), p.prods.offs
	out.custArena, out.custOffs = string(p.custs.arena), p.custs.offs
	return out
}

// requireFastEqualsGeneral parses data in the given chunks with and
// without the fast path, in every mode, and requires the same results.
func requireFastEqualsGeneral(t *testing.T, data string, cuts []int) {
	t.Helper()
	for _, stream := range []bool{false, true} {
		for _, skip := range []bool{false, true} {
			want := parseChunks(t, data, cuts, false, stream, skip)
			got := parseChunks(t, data, cuts, true, stream, skip)
			require.Equal(t, want, got, "stream %v skip %v cuts %v\n%q", stream, skip, cuts, data)
		}
	}
}

// recordStarts returns the offsets in data where a line starts, after the
// header.
func recordStarts(data string) []int {
	var out []int
	for i := 0; i < len(data); i++ {
		if data[i] == '\n' && i+1 < len(data) {
			out = append(out, i+1)
		}
	}
	return out
}

// TestFastPathEqualsGeneral compares the fast path with the general path
// on tricky rows, as one chunk and cut into chunks at random line starts.
func TestFastPathEqualsGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 1))
	for i := range 300 {
		data := trickyCSV(rng, 1+rng.IntN(60), i%10 == 0)
		starts := recordStarts(data)
		if len(starts) == 0 {
			continue
		}
		requireFastEqualsGeneral(t, data, starts[:1])
		cuts := []int{starts[0]}
		for _, s := range starts[1:] {
			if rng.IntN(5) == 0 {
				cuts = append(cuts, s)
			}
		}
		requireFastEqualsGeneral(t, data, cuts)
	}
}

// TestFastPathTakesCommonRows checks that the fast path takes the common
// shapes (else the comparisons prove little). Only row, the general path,
// sets the parser's date cache; blank lines at the end keep the last rows
// away from the chunk's end.
func TestFastPathTakesCommonRows(t *testing.T) {
	rows := []string{
		"2024-01-15,P0302,611.80,C12536\n", "2024-01-16,PROD0001,16303.42,C1\r\n",
		"2024-02-29,P1,12345678,CUSTOME\n", "2024-02-29,1,.5,1\n", "1970-01-01,P,5.,C\n",
		"9999-12-31,P1,1234567.,C1\n", "0001-01-01,P1,0.00,C1\n",
	}
	lay := &layout{nfields: 4, col: [4]int{0, 1, 2, 3}}
	for _, r := range rows {
		data := hdr + r + strings.Repeat("\n", fastMargin)
		for _, stream := range []bool{false, true} {
			p := newParser(lay, false, 0)
			require.True(t, p.fast)
			if stream {
				p.agg = newWorkerAgg(make(chan chunkAgg, 1), true, true)
			}
			buf := append([]byte(data), make([]byte, pad)...)
			var res chunkResult
			p.parse(buf, len(hdr), len(data), 2, &res)
			require.Nil(t, res.fatal)
			require.Equal(t, 1, res.seg.len()+res.agg.rows, "%q", r)
			require.False(t, p.haveDate, "the general path took %q", r)
		}
		requireFastEqualsGeneral(t, data, []int{len(hdr)})
	}
}

func TestDateWords(t *testing.T) {
	for y := 1; y <= 9999; y += 7 {
		for m := 0; m <= 13; m++ {
			for _, d := range []int{0, 1, 9, 10, 28, 29, 30, 31, 32} {
				s := []byte(fmt.Sprintf("%04d-%02d-%02d,", y, m, d))
				want, wok := parseDate(s[:10])
				s = append(s, make([]byte, 8)...)
				got, ok := dateWords(load64(s, 0), load64(s, 8)&0xFFFFFF)
				require.Equal(t, wok, ok, "%s", s[:10])
				require.Equal(t, want, got, "%s", s[:10])
			}
		}
	}
	for _, s := range trickyDates {
		b := append([]byte(s+","), make([]byte, 16)...)
		want, wok := parseDate([]byte(s))
		got, ok := dateWords(load64(b, 0), load64(b, 8)&0xFFFFFF)
		require.Equal(t, wok, ok, "%q", s)
		require.Equal(t, want, got, "%q", s)
	}
}

// FuzzFastPath: the fast path and the general path agree on any input,
// parsed as one chunk or cut at every fifth line (whole reads with and
// without it: TestReadSalesFastPathOff, and FuzzRun across chunk sizes).
func FuzzFastPath(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		f.Add([]byte(trickyCSV(rng, 1+rng.IntN(20), false)))
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<13 {
			return
		}
		s := hdr + string(data)
		starts := recordStarts(s)
		if len(starts) == 0 {
			return
		}
		requireFastEqualsGeneral(t, s, starts[:1])
		cuts := []int{starts[0]}
		for i := 5; i < len(starts); i += 5 {
			cuts = append(cuts, starts[i])
		}
		requireFastEqualsGeneral(t, s, cuts)
	})
}

// TestReadSalesFastPathOff: a whole read with the fast path off gives
// what it gives with it, on generated data with dirt.
func TestReadSalesFastPathOff(t *testing.T) {
	var b strings.Builder
	require.NoError(t, Generate(&b, 20000, 5))
	rng := rand.New(rand.NewPCG(5, 6))
	b.WriteString(strings.TrimPrefix(trickyCSV(rng, 2000, true), hdr))
	for _, opts := range []Options{{}, {OnBadRows: SkipBadRows}, {OnBadRows: SkipBadRows, Profile: true, Workers: 3, chunkSize: 4096}} {
		general := opts
		general.noFastPath = true
		want := runAll(stringSource("in.csv", b.String()), general)
		got := runAll(stringSource("in.csv", b.String()), opts)
		require.Equal(t, want, got)
		r, err := ReadSales(context.Background(), stringSource("in.csv", b.String()), opts)
		if err != nil {
			continue
		}
		r2, err := ReadSales(context.Background(), stringSource("in.csv", b.String()), general)
		require.NoError(t, err)
		require.Equal(t, mustProfile(t, r2), mustProfile(t, r))
	}
}

// TestDupCandidates: the sub-bucketed search for repeated fingerprints
// finds exactly the entries a plain map finds, with fragments that repeat
// within a worker, across workers and in every sub-bucket, and a
// partition too large for the scratch space.
func TestDupCandidates(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 6 {
		parts := []*dupParts{{}, {}, {}}
		want := map[uint64][]int64{} // partition<<32 | fragment -> offsets
		off := int64(0)
		frags := 1 + rng.IntN(5000)
		var seen []uint64
		n := 3000 + rng.IntN(30000)
		if round == 5 {
			n = maxDupScratch + 100 // one big partition
		}
		for range n {
			fp := uint64(rng.IntN(frags)) * 0x9E3779B97F4A7C15
			if round%2 == 0 && len(seen) > 0 {
				// Mostly unique rows, and near misses of earlier ones: the
				// lowest and highest fragment bits, a partition bit, and
				// a bit below the fragment (not kept, so a repeat).
				fp = rng.Uint64()
				if rng.IntN(4) == 0 {
					fp = seen[rng.IntN(len(seen))] ^ []uint64{0, 1 << 30, 1 << 55, 1 << 56, 1 << 29}[rng.IntN(5)]
				}
			}
			seen = append(seen, fp)
			if round == 5 {
				fp = fp>>dupPartBits | 7<<(64-dupPartBits)
			}
			off += 1 + int64(rng.IntN(50))
			parts[rng.IntN(3)].add(fp, off)
			key := fp>>(64-dupPartBits)<<32 | fp<<dupPartBits>>dupOffBits
			want[key] = append(want[key], off)
		}
		var wantOffs []int64
		for _, offs := range want {
			if len(offs) > 1 {
				wantOffs = append(wantOffs, offs...)
			}
		}
		slices.Sort(wantOffs)
		for _, workers := range []int{1, 2, 5} {
			require.Equal(t, wantOffs, dupCandidates(parts, workers), "round %d workers %d", round, workers)
		}
	}
}
