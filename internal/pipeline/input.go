package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// InputFile is one file of a run's input, as resolved from the command
// line (ResolveFiles): a multi-file input is the concatenation of its
// files' data rows, in order, each file with its own header.
//
// It is the list an engine reads: the native reader (ReadSales, through
// FilesSource) and the Beam engine alike. Open gives the file's CSV bytes,
// decompressed.
type InputFile struct {
	Path string // absolute path
	Name string // how messages name it: the path as given or as a glob matched it
	Size int64  // bytes on disk (compressed bytes for a gzip file)
	// Gzip is set for a gzip-compressed file, Zstd for a zstd-compressed
	// one: by the extension (.gz, .zst) or by the magic bytes at the
	// file's start.
	Gzip bool
	Zstd bool
	// Stream is set for a pipe or device: it can be read only once.
	Stream bool
}

// Magic bytes: every gzip member starts with gzipMagic (RFC 1952: ID1 ID2
// CM=deflate), every zstd frame with zstdMagic (RFC 8878).
var (
	gzipMagic = []byte{0x1f, 0x8b, 0x08}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// compression tells a compressed file by its name or its first bytes.
func compression(name string, head []byte) (gz, zst bool) {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".gz" || bytes.HasPrefix(head, gzipMagic), ext == ".zst" || bytes.HasPrefix(head, zstdMagic)
}

// Open opens the file and returns its CSV bytes (decompressed when Gzip
// or Zstd).
func (f InputFile) Open() (io.ReadCloser, error) {
	rc, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	r, _, done, err := decompress(rc, f.Source())
	if err != nil {
		rc.Close()
		return nil, err
	}
	if done == nil {
		return rc, nil
	}
	return &decompressedFile{Reader: r, done: done, f: rc}, nil
}

// Source returns a Source for this one file. Its Open gives the bytes as
// stored; ReadSales decompresses a gzip file itself (so that it can count
// the compressed bytes it has read).
func (f InputFile) Source() Source {
	path := f.Path
	return Source{
		Path: path, Name: f.Name, Size: f.Size, Stream: f.Stream, Gzip: f.Gzip, Zstd: f.Zstd,
		Open: func() (io.ReadCloser, error) { return os.Open(path) },
	}
}

// FilesSource returns the Source of a resolved input: the file itself for
// one file, else a Source whose Files are read in order as one input.
func FilesSource(files []InputFile) Source {
	if len(files) == 1 {
		return files[0].Source()
	}
	var size int64
	for _, f := range files {
		size += f.Size
	}
	return Source{Name: fmt.Sprintf("%d files", len(files)), Size: size, Files: slices.Clone(files)}
}

// parts returns the single-file sources a source reads, in order.
func (s Source) parts() []Source {
	if len(s.Files) == 0 {
		return []Source{s}
	}
	out := make([]Source, len(s.Files))
	for i, f := range s.Files {
		out[i] = f.Source()
	}
	return out
}

// ErrNoMatch is the error of a glob that matches no file.
var ErrNoMatch = errors.New("the pattern matches no file")

// IsGlob reports whether s holds glob metacharacters (filepath.Match's).
func IsGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// ResolveFiles turns --input values (paths or globs) into the ordered
// list of files to read: each glob expanded in sorted order, the values in
// the order given, a file named twice (the same absolute path) kept at its
// first place. A glob that matches nothing is an error, as is a path that
// is not a readable file. A path that exists is taken as it is even when
// it holds glob characters.
func ResolveFiles(values []string) ([]InputFile, error) {
	var out []InputFile
	seen := map[string]bool{}
	for _, v := range values {
		names := []string{v}
		if _, err := os.Lstat(v); err != nil && IsGlob(v) {
			m, gerr := filepath.Glob(v)
			if gerr != nil {
				return nil, fmt.Errorf("input %s: bad glob pattern: %w", v, gerr)
			}
			var files []string
			for _, p := range m {
				if st, err := os.Stat(p); err == nil && !st.IsDir() {
					files = append(files, p)
				}
			}
			if len(files) == 0 {
				return nil, fmt.Errorf("input %s: %w; check the path, and quote the pattern so that salesdag expands it", v, ErrNoMatch)
			}
			slices.Sort(files)
			names = files
		}
		for _, name := range names {
			f, err := resolveFile(name)
			if err != nil {
				return nil, err
			}
			if seen[f.Path] {
				continue
			}
			seen[f.Path] = true
			out = append(out, f)
		}
	}
	return out, nil
}

// resolveFile checks one file (see FileSource) and finds whether it is
// gzip-compressed.
func resolveFile(name string) (InputFile, error) {
	src, err := FileSource(name)
	if err != nil {
		return InputFile{}, err
	}
	return InputFile{Path: src.Path, Name: src.Name, Size: src.Size, Gzip: src.Gzip, Zstd: src.Zstd, Stream: src.Stream}, nil
}

// newGzipReader reads a gzip stream of one or more members (as gzip -c a b
// and pigz write them).
func newGzipReader(r io.Reader) (*gzip.Reader, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		if errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("not a valid gzip file (bad or missing gzip header)")
		}
		return nil, err
	}
	return zr, nil
}

// decompressedFile is a file read through a decompressor.
type decompressedFile struct {
	io.Reader
	done func()
	f    io.Closer
}

func (d *decompressedFile) Close() error {
	d.done()
	return d.f.Close()
}

// newZstdReader reads a zstd stream of one or more frames.
func newZstdReader(r io.Reader) (*zstd.Decoder, error) {
	zr, err := zstd.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a valid zstd file: %w", err)
	}
	return zr, nil
}

// countingReader counts the bytes read through it (a zstd decoder reads
// from its own goroutine: the count is atomic).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
