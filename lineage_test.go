package salesdag_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag"
	"github.com/salesdag/salesdag/internal/history"
)

// The library sends events where the OpenLineage configuration says and
// records the run in a history file, as the CLI does.
func TestOpenLineageAndHistory(t *testing.T) {
	var mu sync.Mutex
	var types []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		var ev struct{ EventType string }
		require.NoError(t, json.Unmarshal(b, &ev))
		mu.Lock()
		types = append(types, ev.EventType)
		mu.Unlock()
		require.Equal(t, "/api/v1/lineage", r.URL.Path)
	}))
	defer srv.Close()
	t.Setenv("OPENLINEAGE_CONFIG", filepath.Join(t.TempDir(), "none.yml"))
	t.Setenv("OPENLINEAGE_URL", srv.URL)
	t.Setenv("OPENLINEAGE_NAMESPACE", "lib-tests")
	hist := filepath.Join(t.TempDir(), "history.db")

	d, err := salesdag.New()
	require.NoError(t, err)
	res, err := d.Run(context.Background(), salesdag.RunOptions{
		Outputs: []string{"daily_sales_summary"}, OpenLineage: true, HistoryFile: hist,
	})
	require.NoError(t, err)
	require.Zero(t, res.LineageUndelivered)
	mu.Lock()
	require.Equal(t, "START", types[0])
	require.Equal(t, "COMPLETE", types[len(types)-1])
	require.Len(t, types, 8, "root and three node runs (raw, cleaned, daily), START and COMPLETE each: %v", types)
	mu.Unlock()

	s, err := history.Open(hist)
	require.NoError(t, err)
	defer s.Close()
	runs, err := s.List(history.ListQuery{})
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, res.RunID, runs[0].ID)
	require.Equal(t, history.StatusComplete, runs[0].Status)
	require.Equal(t, "lib-tests", runs[0].Namespace)
}

// Events that cannot be delivered go to the outbox; the run still succeeds.
func TestOpenLineageUndeliveredGoToOutbox(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	t.Setenv("OPENLINEAGE_CONFIG", filepath.Join(t.TempDir(), "none.yml"))
	t.Setenv("OPENLINEAGE_URL", srv.URL)
	outbox := t.TempDir()

	d, err := salesdag.New()
	require.NoError(t, err)
	res, err := d.Run(context.Background(), salesdag.RunOptions{
		Outputs: []string{"daily_sales_summary"}, OpenLineage: true, OutboxDir: outbox, LineageTimeout: 200 * time.Millisecond,
	})
	require.NoError(t, err)
	require.Equal(t, 8, res.LineageUndelivered)
	files, err := filepath.Glob(filepath.Join(outbox, "*.jsonl"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	require.Contains(t, string(b), res.RunID)
}
