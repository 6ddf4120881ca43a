package output

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsLeftover(t *testing.T) {
	cases := []struct {
		name string
		want bool
	}{
		{".weekly_aggregation.csv.tmp-123456", true},
		{".trend_analysis.json.old-42", true},
		{".daily_sales_summary.parquet.tmp-0", true},
		{".salesdag-probe-987", true},
		{".weekly_aggregation.csv.tmp-", false},
		{".weekly_aggregation.csv.tmp-12a", false},
		{"weekly_aggregation.csv.tmp-12", false}, // not hidden: not ours
		{".notes.txt.tmp-12", false},             // not an output format
		{".csv.tmp-12", false},
		{".salesdag-probe-", false},
		{".salesdag-probe-x1", false},
		{".hidden", false},
		{"weekly_aggregation.csv", false},
		{".flush-123.tmp", false},
	}
	for _, c := range cases {
		require.Equal(t, c.want, isLeftover(c.name), c.name)
	}
}

func seedLeftovers(t *testing.T, dir string) (ours, theirs []string) {
	t.Helper()
	ours = []string{".weekly_aggregation.csv.tmp-2596996162", ".trend_analysis.json.old-77", ".salesdag-probe-1234", ".rejected_rows.parquet.tmp-1"}
	theirs = []string{".weekly_aggregation.csv.tmp-abc", "notes.tmp-1", ".hidden", "mine.csv"}
	for _, n := range append(append([]string{}, ours...), theirs...) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644))
	}
	return ours, theirs
}

// TestWriteSetRemovesLeftoversOfAKilledRun: temporary files that a killed
// salesdag left (SIGKILL mid-write) are removed by the next write into the
// directory; nothing that is not ours is touched.
func TestWriteSetRemovesLeftoversOfAKilledRun(t *testing.T) {
	dir := t.TempDir()
	ours, theirs := seedLeftovers(t, dir)
	_, err := WriteAll(context.Background(), dir, sampleResults(t), []string{"weekly_aggregation"}, DefaultFormats)
	require.NoError(t, err)
	for _, n := range ours {
		require.NoFileExists(t, filepath.Join(dir, n))
	}
	for _, n := range theirs {
		require.FileExists(t, filepath.Join(dir, n))
	}
	require.FileExists(t, filepath.Join(dir, "weekly_aggregation.csv"))
}

// TestWriteSetLeavesAConcurrentWritersFiles: while another salesdag writes
// into the directory (it holds the directory's shared lock), its temporary
// files are not taken for leftovers; once it is gone, they are.
func TestWriteSetLeavesAConcurrentWritersFiles(t *testing.T) {
	dir := t.TempDir()
	ours, _ := seedLeftovers(t, dir)
	other, err := os.Open(dir)
	require.NoError(t, err)
	defer other.Close()
	require.NoError(t, syscall.Flock(int(other.Fd()), syscall.LOCK_SH))

	_, err = WriteAll(context.Background(), dir, sampleResults(t), []string{"trend_analysis"}, DefaultFormats)
	require.NoError(t, err)
	for _, n := range ours {
		require.FileExists(t, filepath.Join(dir, n), "another writer may still use it")
	}

	require.NoError(t, syscall.Flock(int(other.Fd()), syscall.LOCK_UN))
	_, err = WriteAll(context.Background(), dir, sampleResults(t), []string{"trend_analysis"}, DefaultFormats)
	require.NoError(t, err)
	for _, n := range ours {
		require.NoFileExists(t, filepath.Join(dir, n))
	}
}

// TestWriteSetRemovesStaleFilesWithTheSet: an old rejected_rows.csv goes
// when the new set is in place, and stays when the new set fails.
func TestWriteSetRemovesStaleFilesWithTheSet(t *testing.T) {
	stale := []string{"rejected_rows.csv", "rejected_rows.parquet"}
	seed := func(t *testing.T) (string, map[string]string) {
		dir := t.TempDir()
		old := seedOldOutputs(t, dir)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "rejected_rows.csv"), []byte("line,reason,raw\n"), 0o644))
		old["rejected_rows.csv"] = "line,reason,raw\n"
		return dir, old
	}

	t.Run("removed with a successful set", func(t *testing.T) {
		dir, _ := seed(t)
		ws, err := WriteSet(context.Background(), dir, sampleResults(t), []string{"daily_sales_summary", "trend_analysis"}, DefaultFormats, stale)
		require.NoError(t, err)
		require.Len(t, ws, 2)
		require.Equal(t, []string{"daily_sales_summary.csv", "trend_analysis.json"}, dirEntries(t, dir))
	})
	t.Run("a file the set writes is not removed", func(t *testing.T) {
		dir, _ := seed(t)
		results := sampleResults(t)
		results["rejected_rows"] = results["daily_sales_summary"]
		_, err := WriteSet(context.Background(), dir, results, []string{"rejected_rows"}, DefaultFormats, stale)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(dir, "rejected_rows.csv"))
		require.NoError(t, err)
		require.Contains(t, string(got), "total_amount", "the new content")
	})
	t.Run("kept when writing fails", func(t *testing.T) {
		dir, old := seed(t)
		results := sampleResults(t)
		results["trend_analysis"] = map[string]float64{"volatility": math.NaN()}
		_, err := WriteSet(context.Background(), dir, results, []string{"daily_sales_summary", "trend_analysis"}, DefaultFormats, stale)
		require.Error(t, err)
		requireOldOutputs(t, dir, old)
	})
	t.Run("a removal that fails puts the whole set back", func(t *testing.T) {
		dir, old := seed(t)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "rejected_rows.parquet"), []byte("PAR1"), 0o644))
		old["rejected_rows.parquet"] = "PAR1"
		removeFile = func(path string) error {
			if filepath.Base(path) == "rejected_rows.parquet" {
				return &os.PathError{Op: "remove", Path: path, Err: syscall.EIO}
			}
			return os.Remove(path)
		}
		t.Cleanup(func() { removeFile = os.Remove })
		_, err := WriteSet(context.Background(), dir, sampleResults(t), []string{"daily_sales_summary", "trend_analysis"}, DefaultFormats, stale)
		require.ErrorContains(t, err, "rejected_rows.parquet")
		require.ErrorIs(t, err, syscall.EIO)
		requireOldOutputs(t, dir, old)
	})
	t.Run("a directory of that name is not ours", func(t *testing.T) {
		dir, _ := seed(t)
		require.NoError(t, os.Mkdir(filepath.Join(dir, "rejected_rows.parquet"), 0o755))
		_, err := WriteSet(context.Background(), dir, sampleResults(t), []string{"trend_analysis"}, DefaultFormats, stale)
		require.NoError(t, err)
		require.DirExists(t, filepath.Join(dir, "rejected_rows.parquet"))
		require.NoFileExists(t, filepath.Join(dir, "rejected_rows.csv"))
	})
}

// WriteSet is WriteSetCommit without a commit step, for the tests.
func WriteSet(ctx context.Context, dir string, results map[string]any, nodes []string, formats []Format, stale []string) ([]Written, error) {
	return WriteSetCommit(ctx, dir, results, nodes, formats, stale, nil)
}
