package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

// splitInput cuts a CSV into n files at record boundaries chosen by rng:
// each file gets the header (the first keeps what precedes it, a BOM, and
// some others get a BOM of their own) and a run of the data records, in
// order. Concatenating the files' data rows gives the input's.
func splitInput(t *testing.T, data string, n int, rng *rand.Rand) []string {
	t.Helper()
	b := append([]byte(data), make([]byte, pad)...)
	start := 0
	if bytes.HasPrefix(b, bom) {
		start = len(bom)
	}
	hdrEnd := tokenize(b[:len(data)], start, nil, nil, nil, 1<<20).next
	header := data[start:hdrEnd]
	var bounds []int // starts of the data records
	for pos := hdrEnd; pos < len(data); {
		bounds = append(bounds, pos)
		pos = tokenize(b[:len(data)], pos, nil, nil, nil, 1<<20).next
	}
	cuts := []int{hdrEnd}
	for range n - 1 {
		if len(bounds) == 0 {
			cuts = append(cuts, len(data))
			continue
		}
		cuts = append(cuts, bounds[rng.IntN(len(bounds))])
	}
	cuts = append(cuts, len(data))
	for i := 1; i < len(cuts); i++ { // sorted: files in input order
		for k := i; k > 0 && cuts[k] < cuts[k-1]; k-- {
			cuts[k], cuts[k-1] = cuts[k-1], cuts[k]
		}
	}
	out := make([]string, n)
	for i := range n {
		pre := header
		switch {
		case i == 0:
			pre = data[:hdrEnd]
		case rng.IntN(4) == 0:
			pre = string(bom) + header
		}
		out[i] = pre + data[cuts[i]:cuts[i+1]]
	}
	return out
}

// writeParts writes the parts into dir: some plain, some gzip (named .gz,
// or recognised by their magic bytes only, or in two gzip members).
func writeParts(t *testing.T, dir string, parts []string, rng *rand.Rand, gz bool) []InputFile {
	t.Helper()
	var names []string
	for i, p := range parts {
		name := filepath.Join(dir, fmt.Sprintf("part-%03d.csv", i))
		data := []byte(p)
		if gz {
			switch rng.IntN(6) {
			case 0: // plain
			case 1:
				name += ".gz"
				data = gzipped(t, p)
			case 2:
				data = gzipped(t, p) // no extension: the magic bytes tell
			case 3:
				name += ".gz"
				h := len(p) / 2
				data = append(gzipped(t, p[:h]), gzipped(t, p[h:])...) // two members
			case 4:
				name += ".zst"
				data = zstded(t, p)
			case 5:
				data = zstded(t, p) // no extension: the magic bytes tell
			}
		}
		require.NoError(t, os.WriteFile(name, data, 0o644))
		names = append(names, name)
	}
	files, err := ResolveFiles(names)
	require.NoError(t, err)
	require.Len(t, files, len(parts))
	return files
}

func zstded(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, err := zstd.NewWriter(&b)
	require.NoError(t, err)
	_, err = zw.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// TestManyFilesEqualOneFile: the outputs of N files equal, byte for byte,
// those of the one file that concatenates their data rows, for random
// inputs (the differential generator's and streamCase's, with quoted line
// breaks, duplicates across files and bad rows), split points, file
// counts, gzip or not, every chunk size and worker count, streaming and
// rows mode. Rejected rows are the same rows, named by their file and
// their line in it.
func TestManyFilesEqualOneFile(t *testing.T) {
	type input struct {
		name string
		data string
	}
	var inputs []input
	for seed := range int64(8) {
		var b strings.Builder
		require.NoError(t, GenerateRandom(&b, seed, 300+int(seed)*400))
		inputs = append(inputs, input{fmt.Sprintf("random seed %d", seed), b.String()})
	}
	for seed := range uint64(3) {
		inputs = append(inputs, input{fmt.Sprintf("streamCase %d", seed), streamCase(seed, 500+int(seed)*300)})
	}
	for k, in := range inputs {
		rng := rand.New(rand.NewPCG(uint64(k), 99))
		for _, n := range []int{1, 2, 3 + rng.IntN(5)} {
			parts := splitInput(t, in.data, n, rng)
			files := writeParts(t, t.TempDir(), parts, rng, k%2 == 1 || n == 1)
			src := FilesSource(files)
			for _, policy := range []BadRowPolicy{FailOnBadRows, SkipBadRows} {
				want := runAll(stringSource("in.csv", in.data), Options{OnBadRows: policy, KeepRows: true})
				for _, cfg := range runConfigs {
					for _, keep := range []bool{false, true} {
						msg := fmt.Sprintf("%s, %d files, %v, chunk %d, %d workers, keep rows %v", in.name, n, policy, cfg.chunk, cfg.workers, keep)
						got := runAll(src, Options{OnBadRows: policy, Workers: cfg.workers, chunkSize: cfg.chunk, KeepRows: keep})
						if want.err != "" {
							// The first bad row, named by its file.
							require.NotEmpty(t, got.err, msg)
							require.Regexp(t, `part-\d{3}\.csv(\.gz|\.zst)?:\d+: `, got.err, msg)
							continue
						}
						require.Empty(t, got.err, msg)
						require.Equal(t, want.rendered, got.rendered, msg)
						require.Len(t, got.rejected, len(want.rejected), msg)
						for i, rr := range got.rejected {
							require.Equal(t, want.rejected[i].Reason, rr.Reason, msg)
							require.Equal(t, want.rejected[i].Raw, rr.Raw, msg)
							if n > 1 {
								checkRejectedPlace(t, files, parts, rr, msg)
							} else {
								require.Empty(t, rr.File, msg)
							}
						}
					}
				}
			}
		}
	}
}

// checkRejectedPlace: the rejected row's file and line hold its text.
func checkRejectedPlace(t *testing.T, files []InputFile, parts []string, rr RejectedRow, msg string) {
	t.Helper()
	for i, f := range files {
		if f.Name != rr.File {
			continue
		}
		text := strings.TrimPrefix(parts[i], string(bom))
		lines := strings.SplitAfter(text, "\n")
		require.Greater(t, len(lines), int(rr.Line-1), msg)
		first, _, _ := strings.Cut(rr.Raw, "\n")
		first, _, _ = strings.Cut(first, "<redacted>") // customer ids are never quoted
		require.True(t, strings.HasPrefix(lines[rr.Line-1], strings.TrimSuffix(first, "\r")), "%s: %s:%d is not %q", msg, rr.File, rr.Line, first)
		return
	}
	t.Fatalf("%s: rejected row names %q, not one of the files", msg, rr.File)
}

// TestManyFilesProfile: the statistics of N files are those of the one
// file that concatenates them (bytes aside: the files' sizes on disk).
func TestManyFilesProfile(t *testing.T) {
	data := streamCase(5, 2000)
	rng := rand.New(rand.NewPCG(5, 5))
	parts := splitInput(t, data, 4, rng)
	files := writeParts(t, t.TempDir(), parts, rng, false)
	want, err := ReadSales(t.Context(), stringSource("in.csv", data), Options{OnBadRows: SkipBadRows, KeepRows: true})
	require.NoError(t, err)
	wp := mustProfile(t, want)
	var size int64
	for _, f := range files {
		size += f.Size
	}
	wp.Bytes = size
	for _, o := range []Options{{KeepRows: true}, {Profile: true}, {}} {
		o.OnBadRows = SkipBadRows
		r, err := ReadSales(t.Context(), FilesSource(files), o)
		require.NoError(t, err)
		require.Equal(t, wp, mustProfile(t, r), "%+v", o)
		require.Equal(t, size, r.BytesRead())
		require.Equal(t, files, r.Files())
	}
}

// TestManyFilesErrors: every problem names its file (and line).
func TestManyFilesErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
		return p
	}
	good := write("good.csv", hdr+"2024-01-01,P1,1.00,C1\n")
	tests := []struct {
		name   string
		second string // path of the second file
		want   string
	}{
		{"wrong header", write("wrong.csv", "date,product,amount,customer_id\n2024-01-02,P1,1.00,C1\n"),
			`^wrong.csv:1: missing required column product_id \(header has: date,product,amount,customer_id; need date,product_id,amount,customer_id\)$`},
		{"no header", write("nohdr.csv", "2024-01-02,P1,1.00,C1\n"), `^nohdr.csv:1: no header line`},
		{"blank", write("blank.csv", "\n\n"), `^input blank.csv: no header row \(only blank lines\)$`},
		{"bad row", write("bad.csv", hdr+"2024-01-02,P1,1.00,C1\n2024-13-02,P1,1.00,C1\n"), `^bad.csv:3: `},
		{"not gzip", write("fake.csv.gz", hdr+"2024-01-02,P1,1.00,C1\n"), `^reading fake.csv.gz: not a valid gzip file`},
		{"truncated gzip", write("cut.csv.gz", string(gzipped(t, hdr+"2024-01-02,P1,1.00,C1\n")[:30])), `^reading cut.csv.gz: unexpected EOF$`},
		{"not zstd", write("fake.csv.zst", hdr+"2024-01-02,P1,1.00,C1\n"), `^reading fake.csv.zst: `},
		{"truncated zstd", write("cut.csv.zst", string(zstded(t, hdr+"2024-01-02,P1,1.00,C1\n")[:20])), `^reading cut.csv.zst: `},
	}
	t.Chdir(dir)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files, err := ResolveFiles([]string{filepath.Base(good), filepath.Base(tc.second)})
			require.NoError(t, err)
			_, err = ReadSales(context.Background(), FilesSource(files), Options{})
			require.Error(t, err)
			require.Regexp(t, tc.want, err.Error())
		})
	}
}

// TestManyFilesOnlyHeaders: files with a header and no row add nothing;
// an input with no row at all is an error.
func TestManyFilesOnlyHeaders(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.csv")
	b := filepath.Join(dir, "b.csv")
	require.NoError(t, os.WriteFile(a, []byte(hdr), 0o644))
	require.NoError(t, os.WriteFile(b, []byte(hdr+"2024-01-01,P1,1.00,C1\n"), 0o644))
	files, err := ResolveFiles([]string{a, b, a})
	require.NoError(t, err)
	r, err := ReadSales(t.Context(), FilesSource(files), Options{})
	require.NoError(t, err)
	require.Equal(t, 1, r.Len())
	files, err = ResolveFiles([]string{a, filepath.Join(dir, "a*.csv")})
	require.NoError(t, err)
	require.Len(t, files, 1, "the same file once")
	_, err = ReadSales(t.Context(), FilesSource(append(files, files[0])), Options{})
	require.EqualError(t, err, "input 2 files: no data rows, only a header")
}

func TestResolveFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"2024-02.csv.gz", "2024-01.csv.gz", "2024-10.csv", "extra.csv", "[odd].csv"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte(hdr+"2024-01-01,P1,1.00,C1\n"), 0o644))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "2024-dir.csv"), 0o755))
	t.Chdir(dir)
	names := func(fs []InputFile) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Name)
			require.True(t, filepath.IsAbs(f.Path))
			require.Equal(t, strings.HasSuffix(f.Name, ".gz"), f.Gzip, f.Name)
		}
		return out
	}
	tests := []struct {
		in   []string
		want []string
		err  string
	}{
		{in: []string{"extra.csv", "2024-*"}, want: []string{"extra.csv", "2024-01.csv.gz", "2024-02.csv.gz", "2024-10.csv"}},
		{in: []string{"2024-0?.csv.gz", "extra.csv", "2024-01.csv.gz", "./extra.csv"}, want: []string{"2024-01.csv.gz", "2024-02.csv.gz", "extra.csv"}},
		{in: []string{"[odd].csv"}, want: []string{"[odd].csv"}}, // an existing name is taken as it is
		{in: []string{"extra.csv", "2023-*.csv"}, err: "input 2023-*.csv: the pattern matches no file; check the path, and quote the pattern so that salesdag expands it"},
		{in: []string{"missing.csv"}, err: "input missing.csv: file does not exist"},
		{in: []string{"[.csv"}, err: "input [.csv: bad glob pattern: syntax error in pattern"},
	}
	for _, tc := range tests {
		got, err := ResolveFiles(tc.in)
		if tc.err != "" {
			require.EqualError(t, err, tc.err, "%v", tc.in)
			continue
		}
		require.NoError(t, err, "%v", tc.in)
		require.Equal(t, tc.want, names(got), "%v", tc.in)
	}
}

// TestGzipFile: one gzip or zstd file reads as its plain content, found
// by its extension or by its magic bytes; its size is the compressed size.
func TestGzipFile(t *testing.T) {
	data := streamCase(2, 3000)
	dir := t.TempDir()
	plain := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(plain, []byte(data), 0o644))
	want := runAll(FileSourceMust(t, plain), Options{OnBadRows: SkipBadRows})
	for _, name := range []string{"in.csv.gz", "in.dat", "in.csv.zst", "in.zdat"} {
		p := filepath.Join(dir, name)
		zst := name == "in.csv.zst" || name == "in.zdat"
		packed := gzipped(t, data)
		if zst {
			packed = zstded(t, data)
		}
		require.NoError(t, os.WriteFile(p, packed, 0o644))
		src := FileSourceMust(t, p)
		require.Equal(t, !zst, src.Gzip, name)
		require.Equal(t, zst, src.Zstd, name)
		f, err := ResolveFiles([]string{p})
		require.NoError(t, err)
		rc, err := f[0].Open()
		require.NoError(t, err)
		text, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.Equal(t, data, string(text), "InputFile.Open decompresses")
		got := runAll(src, Options{OnBadRows: SkipBadRows})
		require.Equal(t, want, got, name)
		r, err := ReadSales(t.Context(), src, Options{Profile: true, OnBadRows: SkipBadRows})
		require.NoError(t, err)
		st, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, st.Size(), r.BytesRead())
		require.Equal(t, st.Size(), mustProfile(t, r).Bytes)
	}
}

func FileSourceMust(t *testing.T, path string) Source {
	t.Helper()
	s, err := FileSource(path)
	require.NoError(t, err)
	return s
}

// TestManyFilesProgress: progress counts the bytes of the files as stored
// (compressed for gzip), never goes back, and ends at their total.
func TestManyFilesProgress(t *testing.T) {
	data := streamCase(3, 3000)
	rng := rand.New(rand.NewPCG(3, 3))
	files := writeParts(t, t.TempDir(), splitInput(t, data, 4, rng), rng, true)
	var total int64
	for _, f := range files {
		total += f.Size
	}
	var seen, rows []int64
	r, err := ReadSales(t.Context(), FilesSource(files), Options{OnBadRows: SkipBadRows, chunkSize: 4096, Workers: 2,
		Progress: func(n, rs int64) { seen = append(seen, n); rows = append(rows, rs) }})
	require.NoError(t, err)
	require.Greater(t, len(seen), 5)
	require.Equal(t, total, seen[len(seen)-1])
	require.Equal(t, int64(r.Len()), rows[len(rows)-1])
	for i := 1; i < len(seen); i++ {
		require.GreaterOrEqual(t, seen[i], seen[i-1])
		require.GreaterOrEqual(t, rows[i], rows[i-1])
	}
}

// TestManyFilesFileProfiles: each file's statistics, measured during the
// read (streaming mode) or by reading each file again (rows mode), are
// those of the file read alone.
func TestManyFilesFileProfiles(t *testing.T) {
	data := streamCase(7, 2500)
	rng := rand.New(rand.NewPCG(7, 7))
	files := writeParts(t, t.TempDir(), splitInput(t, data, 5, rng), rng, true)
	var want []InputProfile
	for _, f := range files {
		r, err := ReadSales(t.Context(), f.Source(), Options{OnBadRows: SkipBadRows, Profile: true})
		if errors.Is(err, errOnlyHeader) {
			want = append(want, InputProfile{})
			continue
		}
		require.NoError(t, err)
		want = append(want, mustProfile(t, r))
	}
	for _, cfg := range runConfigs {
		for _, keep := range []bool{false, true} {
			msg := fmt.Sprintf("chunk %d, %d workers, keep rows %v", cfg.chunk, cfg.workers, keep)
			r, err := ReadSales(t.Context(), FilesSource(files), Options{OnBadRows: SkipBadRows, Profile: true, KeepRows: keep, Workers: cfg.workers, chunkSize: cfg.chunk})
			require.NoError(t, err, msg)
			require.Equal(t, !keep, r.fileProfiles != nil, "%s: measured during the read", msg)
			got, err := r.FileProfiles()
			require.NoError(t, err, msg)
			require.Len(t, got, len(files), msg)
			for i := range files {
				if want[i].Columns == nil {
					require.EqualValues(t, 0, got[i].RowCount, msg)
					continue
				}
				require.Equal(t, want[i], *got[i], "%s: file %d", msg, i)
			}
		}
	}
}
