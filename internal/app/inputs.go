package app

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/salesdag/salesdag/internal/dbio"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// Inputs is a run's input resolved from its --input values
// (ResolveInputs): nothing (the embedded sample), one database URL, or
// files read in order as one input, the concatenation of their data rows.
//
// Every engine reads the same list: the native one through
// pipeline.FilesSource(Files), the Beam engine file by file
// (InputFile.Open gives a file's CSV bytes, decompressed).
type Inputs struct {
	URL   string               // a database input (postgres://... or sqlite:...)
	Files []pipeline.InputFile // the files, in order; none and no URL: the embedded sample
}

// Sample reports whether the run reads the embedded sample.
func (in Inputs) Sample() bool { return in.URL == "" && len(in.Files) == 0 }

// ManyFiles is the number of files above which a run's input is one
// lineage dataset, their common directory with a fileCount, rather than
// one dataset per file.
const ManyFiles = pipeline.FileProfileLimit

// ResolveInputs resolves --input values (and the positional arguments,
// after them): each file path or glob (expanded here, in sorted order) in
// the order given, a file named twice read once, at its first place. A
// database URL must be the only input. Mistakes in naming the inputs (a
// glob that matches nothing, a URL with other inputs) are a *UsageError;
// a named file that is missing or unreadable is an ordinary error.
func ResolveInputs(values []string) (Inputs, error) {
	var urls, files []string
	for _, v := range values {
		if v == "" {
			continue
		}
		if dbio.IsURL(v) {
			urls = append(urls, v)
		} else {
			files = append(files, v)
		}
	}
	switch {
	case len(urls) > 1:
		return Inputs{}, &UsageError{fmt.Errorf("two database inputs (%s and %s): a run reads one table or query", dbio.Redact(urls[0]), dbio.Redact(urls[1]))}
	case len(urls) == 1 && len(files) > 0:
		return Inputs{}, &UsageError{fmt.Errorf("a database input (%s) cannot be mixed with files (%s): give the one or the other", dbio.Redact(urls[0]), files[0])}
	case len(urls) == 1:
		return Inputs{URL: urls[0]}, nil
	}
	list, err := pipeline.ResolveFiles(files)
	if errors.Is(err, pipeline.ErrNoMatch) || errors.Is(err, filepath.ErrBadPattern) {
		return Inputs{}, &UsageError{err}
	}
	if err != nil {
		return Inputs{}, err
	}
	return Inputs{Files: list}, nil
}

// inputValues are the run's --input values: Input, then Inputs.
func (o Options) inputValues() []string {
	var v []string
	if o.Input != "" {
		v = append(v, o.Input)
	}
	for _, s := range o.Inputs {
		if s != "" {
			v = append(v, s)
		}
	}
	return v
}

// singleInput returns the run's one input value when it has exactly one
// and it is not a glob ("" for the sample).
func (o Options) singleInput() (string, bool) {
	v := o.inputValues()
	switch {
	case len(v) == 0:
		return "", true
	case len(v) == 1 && (dbio.IsURL(v[0]) || !pipeline.IsGlob(v[0])):
		return v[0], true
	}
	return "", false
}

// commonDir is the deepest directory that holds every path.
func commonDir(paths []string) string {
	dir := filepath.Dir(paths[0])
	for _, p := range paths[1:] {
		for dir != filepath.Dir(dir) && !strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator)) {
			dir = filepath.Dir(dir)
		}
	}
	return dir
}

// manyFilesDataset is the lineage dataset of more than ManyFiles files:
// their common directory, with the number of files.
func manyFilesDataset(files []pipeline.InputFile, p *pipeline.InputProfile) lineage.InputFile {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	f := inputFile(pipeline.Source{Path: commonDir(paths)}, p)
	f.FileCount = int64(len(files))
	return f
}

// FilesLabel names files in a line: "3 files in /data/sales".
func FilesLabel(files []pipeline.InputFile) string {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	return fmt.Sprintf("%d files in %s", len(files), commonDir(paths))
}
