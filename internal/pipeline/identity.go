package pipeline

import "io"

// CacheContent gives a Source's bytes for a content key, so that a cache
// keys the data, not its path or name: the same data under another name
// is the same input. A file gives its path (a cache can keep a stat index
// of its hash); a stream (pipe) gives neither, as it can be read only
// once, by the run.
func (s Source) CacheContent() (string, func() (io.ReadCloser, error)) {
	if s.Stream {
		return "", nil
	}
	return s.Path, s.Open
}

// Identity returns the options that can change results: o without the
// worker count, chunk size, callbacks, and whether rows are kept or the
// profile computed during the read (how the rows are held, not what they
// are), which never do. Runs whose options have equal identities give the
// same results (a cache keys the options by it). Fields added later are
// part of it unless cleared here.
func (o Options) Identity() Options {
	o.Workers, o.Progress, o.chunkSize, o.afterChunk = 0, nil, 0, nil
	o.KeepRows, o.Profile = false, false
	return o
}

// CacheFiles gives the files of a multi-file input for a content key (a
// cache hashes each and keys them in order); nil for a single input, or
// when one of the files is a stream (which only the run may read).
func (s Source) CacheFiles() []string {
	var paths []string
	for _, f := range s.Files {
		if f.Stream {
			return nil
		}
		paths = append(paths, f.Path)
	}
	return paths
}
