package pipeline

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
)

var (
	gzOnce  sync.Once
	gzFiles [][]InputFile // the 1M-row input: [0] as one gzip file, [1] as 8, [2] as one zstd file
	gzErr   error
)

// benchGzip writes the benchmark input gzip-compressed, as one file and
// as eight (each with the header), and zstd-compressed as one file, once
// per test binary run.
func benchGzip(b *testing.B) [][]InputFile {
	b.Helper()
	plain := benchFile(b)
	gzOnce.Do(func() {
		data, err := os.ReadFile(plain)
		if err != nil {
			gzErr = err
			return
		}
		dir := filepath.Dir(plain)
		write := func(name string, parts ...[]byte) string {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			for _, p := range parts {
				zw.Write(p)
			}
			if err := zw.Close(); err != nil && gzErr == nil {
				gzErr = err
			}
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, z.Bytes(), 0o644); err != nil && gzErr == nil {
				gzErr = err
			}
			return p
		}
		one := []string{write("sales_1m.csv.gz", data)}
		nl := bytes.IndexByte(data, '\n') + 1
		header, rows := data[:nl], data[nl:]
		var eight []string
		for i := range 8 {
			lo, hi := i*len(rows)/8, (i+1)*len(rows)/8
			for lo > 0 && rows[lo-1] != '\n' {
				lo++
			}
			for hi < len(rows) && rows[hi-1] != '\n' {
				hi++
			}
			eight = append(eight, write(fmt.Sprintf("sales_1m_part%d.csv.gz", i), header, rows[lo:hi]))
		}
		var zst bytes.Buffer
		zw, err := zstd.NewWriter(&zst)
		if err == nil {
			zw.Write(data)
			err = zw.Close()
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "sales_1m.csv.zst"), zst.Bytes(), 0o644)
		}
		if err != nil {
			gzErr = err
			return
		}
		for _, set := range [][]string{one, eight, {filepath.Join(dir, "sales_1m.csv.zst")}} {
			files, err := ResolveFiles(set)
			if err != nil {
				gzErr = err
				return
			}
			gzFiles = append(gzFiles, files)
		}
	})
	if gzErr != nil {
		b.Fatal(gzErr)
	}
	return gzFiles
}

// BenchmarkReadSalesGzip measures ingestion of the 1M-row input from gzip:
// MB/s is of the decompressed CSV (compare BenchmarkReadSales, the plain
// file). One file is decompressed by one goroutine; eight files are
// decompressed several at a time. zstd_one_file is the same rows as one
// zstd file, whose decoder is several times faster than inflate.
func BenchmarkReadSalesGzip(b *testing.B) {
	st, err := os.Stat(benchFile(b))
	if err != nil {
		b.Fatal(err)
	}
	sets := benchGzip(b)
	for i, name := range []string{"one_file", "eight_files", "zstd_one_file"} {
		b.Run(name, func(b *testing.B) {
			src := FilesSource(sets[i])
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ReadSales(context.Background(), src, Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkGunzip is the floor: decompressing the one gzip file alone.
func BenchmarkGunzip(b *testing.B) {
	st, err := os.Stat(benchFile(b))
	if err != nil {
		b.Fatal(err)
	}
	f := benchGzip(b)[0][0]
	b.SetBytes(st.Size())
	buf := make([]byte, 1<<20)
	for b.Loop() {
		rc, err := f.Open()
		if err != nil {
			b.Fatal(err)
		}
		r := bufio.NewReaderSize(rc, 1<<16)
		for {
			if _, err := r.Read(buf); err != nil {
				break
			}
		}
		rc.Close()
	}
}
