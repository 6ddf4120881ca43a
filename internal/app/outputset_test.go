package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/pipeline"
)

// TestCleanRunRemovesOldRejectedRows: rejected_rows.csv of an earlier
// --on-bad-rows=skip run does not stay next to the results of a later run
// that sets nothing aside; a failing later run leaves it.
func TestCleanRunRemovesOldRejectedRows(t *testing.T) {
	dirty := writeFile(t, "dirty.csv", "date,product_id,amount,customer_id\n2024-01-01,P1,10.5,C1\n2024-13-01,P1,3,C2\n2024-01-02,P2,7,C3\n")
	clean := writeFile(t, "clean.csv", "date,product_id,amount,customer_id\n2024-01-01,P1,10.5,C1\n2024-01-02,P2,7,C3\n")
	dir := t.TempDir()
	rejected := filepath.Join(dir, RejectedRowsName+".csv")

	_, _, err := runSample(t, context.Background(), dirty, nil, Options{OutputDir: dir, OnBadRows: pipeline.SkipBadRows})
	require.NoError(t, err)
	require.FileExists(t, rejected)

	// A failing run changes nothing.
	_, _, err = runSample(t, context.Background(), dirty, nil, Options{OutputDir: dir, OnBadRows: pipeline.FailOnBadRows})
	require.Error(t, err)
	require.FileExists(t, rejected)

	res, _, err := runSample(t, context.Background(), clean, nil, Options{OutputDir: dir})
	require.NoError(t, err)
	require.NoFileExists(t, rejected)
	for _, w := range res.Written {
		require.NotEqual(t, rejected, w.Path)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, len(res.Written), "only the new set")
}
