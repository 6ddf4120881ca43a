package cache_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/cache"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// Benchmarks of the cache on generated sales files:
//
//	go test -run '^$' -bench . -benchtime 5x ./internal/cache/
//
// The 5M-row file (about 170 MB) is generated once per run in a temporary
// directory.

var benchFiles = struct {
	sync.Mutex
	dir   string
	paths map[int]string
}{paths: map[int]string{}}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFiles.dir != "" {
		_ = os.RemoveAll(benchFiles.dir)
	}
	os.Exit(code)
}

func benchFile(b *testing.B, rows int) string {
	b.Helper()
	benchFiles.Lock()
	defer benchFiles.Unlock()
	if p, ok := benchFiles.paths[rows]; ok {
		return p
	}
	if benchFiles.dir == "" {
		d, err := os.MkdirTemp("", "salesdag-cache-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchFiles.dir = d
	}
	p := filepath.Join(benchFiles.dir, fmt.Sprintf("sales-%d.csv", rows))
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if err := pipeline.Generate(f, rows, 1); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	benchFiles.paths[rows] = p
	return p
}

func fileSize(b *testing.B, p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// aheadClock makes every side-index record older than the racy window, as
// it is for any input not written in the last two seconds.
func aheadClock() time.Time { return time.Now().Add(time.Hour) }

func BenchmarkFileKey(b *testing.B) {
	path := benchFile(b, 5_000_000)
	b.Run("rows=5M/full-hash", func(b *testing.B) {
		b.SetBytes(fileSize(b, path))
		for b.Loop() {
			s, err := cache.Open(b.TempDir(), cache.NoSync())
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := s.FileKey(context.Background(), path); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rows=5M/shortcut", func(b *testing.B) {
		s, err := cache.Open(b.TempDir(), cache.NoSync(), cache.WithClock(aheadClock))
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.FileKey(context.Background(), path); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, _, err := s.FileKey(context.Background(), path); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func salesGraph(b *testing.B) *dag.DAG {
	g := dag.New()
	pipeline.Register(g)
	d, err := g.Build()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func computeAll(b *testing.B, d *dag.DAG, path string) dag.Results {
	src, err := pipeline.FileSource(path)
	if err != nil {
		b.Fatal(err)
	}
	p, err := d.Plan(append([]string{pipeline.NodeRaw, pipeline.NodeCleaned}, pipeline.DefaultOutputs...)...)
	if err != nil {
		b.Fatal(err)
	}
	res, err := d.Execute(context.Background(), p, map[string]any{pipeline.InputSource: src, pipeline.InputOptions: pipeline.Options{}})
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// BenchmarkTables measures the codecs and the store on the results that
// are cached by default (1M-row input: 366 days, 53 weeks).
func BenchmarkTables(b *testing.B) {
	path := benchFile(b, 1_000_000)
	res := computeAll(b, salesGraph(b), path)
	opts, err := app.CacheOptions()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range opts.Codecs {
		for _, node := range pipeline.DefaultOutputs {
			if reflect.TypeOf(res[node]) == c.Type {
				benchCodec(b, node, c, res[node])
			}
		}
	}
}

func benchCodec(b *testing.B, name string, c cache.Codec, v any) {
	typ := c.Type
	payload, err := c.Encode(v)
	if err != nil {
		b.Fatal(err)
	}
	b.Run(name+"/encode", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			if _, err := c.Encode(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(name+"/decode", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			if _, err := c.Decode(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	const key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	b.Run(name+"/store-fsync", func(b *testing.B) {
		s, err := cache.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			p, err := c.Encode(v)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Put(cache.Header{Node: "n", Key: key, Type: typ.String(), Codec: "c"}, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(name+"/load", func(b *testing.B) {
		s, err := cache.Open(b.TempDir(), cache.NoSync())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Put(cache.Header{Node: "n", Key: key}, payload); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			_, p, err := s.Get("n", key)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Decode(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRun compares whole runs of the six default outputs on 5M rows:
// without cache, a first run that fills the cache, and reruns that hit it
// (with the side index trusted, and with it cold so the file is hashed).
func BenchmarkRun(b *testing.B) {
	path := benchFile(b, 5_000_000)
	d := salesGraph(b)
	src, err := pipeline.FileSource(path)
	if err != nil {
		b.Fatal(err)
	}
	inputs := map[string]any{pipeline.InputSource: src, pipeline.InputOptions: pipeline.Options{}}
	p, err := d.Plan(pipeline.DefaultOutputs...)
	if err != nil {
		b.Fatal(err)
	}
	opts, err := app.CacheOptions()
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, dir string, storeOpts ...cache.StoreOption) *cache.Run {
		s, err := cache.Open(dir, storeOpts...)
		if err != nil {
			b.Fatal(err)
		}
		r, err := cache.New(s, opts).Prepare(context.Background(), d, p, inputs)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Execute(context.Background(), d, inputs); err != nil {
			b.Fatal(err)
		}
		return r
	}
	b.Run("rows=5M/no-cache", func(b *testing.B) {
		for b.Loop() {
			if _, err := d.Execute(context.Background(), p, inputs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rows=5M/first-run-fills-cache", func(b *testing.B) {
		for b.Loop() {
			run(b, b.TempDir())
		}
	})
	dir := b.TempDir()
	run(b, dir, cache.WithClock(aheadClock))
	b.Run("rows=5M/cached-rerun", func(b *testing.B) {
		for b.Loop() {
			r := run(b, dir, cache.WithClock(aheadClock))
			if n := len(r.Loaded()); n != len(pipeline.DefaultOutputs) {
				b.Fatalf("%d hits, want %d", n, len(pipeline.DefaultOutputs))
			}
		}
	})
	b.Run("rows=5M/cached-rerun-rehash", func(b *testing.B) {
		for b.Loop() {
			if err := os.RemoveAll(filepath.Join(dir, "files")); err != nil {
				b.Fatal(err)
			}
			r := run(b, dir)
			if n := len(r.Loaded()); n != len(pipeline.DefaultOutputs) {
				b.Fatalf("%d hits, want %d", n, len(pipeline.DefaultOutputs))
			}
		}
	})
}
