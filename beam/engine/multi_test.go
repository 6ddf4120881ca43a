package engine

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// TestMultiFileSameAsNative: many files as one input (shapes of their own:
// column orders, line ends, extra columns; one gzip-, one zstd-compressed, one
// with a header only), every output and each file's input statistics the same.
func TestMultiFileSameAsNative(t *testing.T) {
	eng := prismEngine(t)
	dir := t.TempDir()
	var inputs []string
	for i, seed := range []int64{21, 22, 23, 24} {
		var b bytes.Buffer
		require.NoError(t, pipeline.GenerateRandom(&b, seed, 500+300*i))
		name := filepath.Join(dir, "part-"+jsonNum(seed)+".csv")
		data := b.Bytes()
		if i == 2 {
			name += ".gz"
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			_, err := w.Write(data)
			require.NoError(t, err)
			require.NoError(t, w.Close())
			data = z.Bytes()
		}
		if i == 3 {
			name += ".zst"
			w, err := zstd.NewWriter(nil)
			require.NoError(t, err)
			data = w.EncodeAll(data, nil)
			require.NoError(t, w.Close())
		}
		require.NoError(t, os.WriteFile(name, data, 0o644))
		inputs = append(inputs, name)
	}
	header := filepath.Join(dir, "zz-empty.csv")
	require.NoError(t, os.WriteFile(header, []byte("customer_id,amount,date,product_id\n"), 0o644))
	many := func(o *app.Options) { o.Input, o.Inputs = "", append([]string{filepath.Join(dir, "part-*")}, header) }

	native, beam := run(t, nil, "", nil, many), run(t, eng, "", nil, many)
	requireSame(t, native, beam, "5 files")
	require.Equal(t, inputFacets(t, native.events), inputFacets(t, beam.events), "each file's statistics")

	// Bad rows in two of the files: fail names the first, skip sets them
	// aside with their file.
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte(badCSV), 0o644))
	withBad := func(o *app.Options) { o.Input, o.Inputs = inputs[0], []string{bad, inputs[1]} }
	native, beam = run(t, nil, "", nil, withBad), run(t, eng, "", nil, withBad)
	require.Error(t, native.err)
	require.Error(t, beam.err)
	require.Equal(t, native.err.Error(), beam.err.Error())
	skip := func(o *app.Options) { withBad(o); o.OnBadRows = pipeline.SkipBadRows }
	native, beam = run(t, nil, "", nil, skip), run(t, eng, "", nil, skip)
	requireSame(t, native, beam, "skip, 3 files")
	require.Contains(t, string(beam.files["rejected_rows.csv"]), "bad.csv")
}
