package cache

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const helperEnv = "SALESDAG_CACHE_TEST_HELPER"

// TestHelperProcess is not a test: TestConcurrentProcesses runs the test
// binary again with helperEnv set, and this function is then one of
// several processes sharing a cache directory.
func TestHelperProcess(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("helper process for TestConcurrentProcesses")
	}
	parts := strings.SplitN(spec, "|", 3)
	dir, input, mode := parts[0], parts[1], parts[2]
	d, err := toyGraph()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	for i := 0; i < 20; i++ {
		s, err := Open(dir, NoSync())
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(3)
		}
		if mode == "prune" && i%3 == 0 {
			if _, err := s.Prune(PruneOptions{MaxSize: 200}); err != nil {
				fmt.Println("prune error:", err)
				os.Exit(3)
			}
		}
		var mu sync.Mutex
		var corrupt []string
		c := New(s, Options{
			Codecs: toyCodecs(),
			OnEvent: func(e NodeEvent) {
				if e.Status == StatusCorrupt {
					mu.Lock()
					corrupt = append(corrupt, e.Err.Error())
					mu.Unlock()
				}
			}})
		p, _ := d.Plan("label", "total")
		inputs := map[string]any{"source": toyFile{input}, "opts": toyOpts{Factor: 1}}
		r, err := c.Prepare(context.Background(), d, p, inputs)
		if err != nil {
			fmt.Println("prepare error:", err)
			os.Exit(3)
		}
		res, err := r.Execute(context.Background(), d, inputs)
		if err != nil {
			fmt.Println("run error:", err)
			os.Exit(3)
		}
		if res["label"] != "total=6" || res["total"] != (toySum{Total: 6, N: 3}) {
			fmt.Printf("wrong result: %v %v\n", res["label"], res["total"])
			os.Exit(4)
		}
		if len(corrupt) > 0 {
			fmt.Println("corrupt:", corrupt)
			os.Exit(5)
		}
	}
	fmt.Println("ok")
}

func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := filepath.Join(t.TempDir(), "cache")
	input := filepath.Join(t.TempDir(), "in.txt")
	require.NoError(t, os.WriteFile(input, []byte("1\n2\n3\n"), 0o644))
	modes := []string{"run", "run", "run", "prune"}
	var wg sync.WaitGroup
	outs := make([]string, len(modes))
	errs := make([]error, len(modes))
	for i, mode := range modes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"="+dir+"|"+input+"|"+mode)
			out, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(out), err
		}()
	}
	wg.Wait()
	for i := range modes {
		require.NoError(t, errs[i], outs[i])
		require.Contains(t, outs[i], "ok", outs[i])
	}
	s, err := Open(dir, NoSync())
	require.NoError(t, err)
	list, err := s.List()
	require.NoError(t, err)
	for _, e := range list {
		require.Empty(t, e.Corrupt, e.Path)
	}
}
