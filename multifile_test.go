package salesdag_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag"
)

// RunOptions.Inputs reads many files (globs too) as one input: the
// results are those of the one file that holds their rows.
func TestRunManyInputs(t *testing.T) {
	dir := t.TempDir()
	hdr := "date,product_id,amount,customer_id\n"
	rows := []string{"2024-01-01,P1,10.50,C1\n", "2024-01-01,P2,3.25,C2\n", "2024-01-02,P1,7.00,C3\n", "2024-01-03,P3,1.00,C1\n"}
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
		return p
	}
	all := write("all.csv", hdr+rows[0]+rows[1]+rows[2]+rows[3])
	write("part-1.csv", hdr+rows[0]+rows[1])
	write("part-2.csv", hdr+rows[2])
	last := write("last.csv", hdr+rows[3])
	d, err := salesdag.New()
	require.NoError(t, err)
	ctx := context.Background()
	outOne := filepath.Join(dir, "one")
	one, err := d.Run(ctx, salesdag.RunOptions{Input: all, OutputDir: outOne})
	require.NoError(t, err)
	for i, opts := range []salesdag.RunOptions{
		{Inputs: []string{filepath.Join(dir, "part-*.csv"), last}},
		{Input: filepath.Join(dir, "part-1.csv"), Inputs: []string{filepath.Join(dir, "part-2.csv"), last}},
	} {
		opts.OutputDir = filepath.Join(dir, fmt.Sprint("many", i))
		many, err := d.Run(ctx, opts)
		require.NoError(t, err)
		require.Equal(t, one.RowsRead, many.RowsRead)
		require.Len(t, many.Files, len(one.Files))
		for _, f := range one.Files {
			want, err := os.ReadFile(f.Path)
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(opts.OutputDir, filepath.Base(f.Path)))
			require.NoError(t, err)
			require.Equal(t, string(want), string(got), f.Path)
		}
	}
	_, err = d.Run(ctx, salesdag.RunOptions{Inputs: []string{filepath.Join(dir, "none-*.csv")}})
	require.ErrorContains(t, err, "the pattern matches no file")
}
