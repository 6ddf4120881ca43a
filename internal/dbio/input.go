package dbio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/salesdag/salesdag/internal/frame"
)

// Input is a table or query to read sales from, as CSV with a header.
type Input struct {
	t        *target
	loc      Location
	sql      string // the SELECT whose rows are read
	schema   []frame.Field
	openCopy func(ctx context.Context, w io.Writer) error

	mu        sync.Mutex
	spool     *os.File // the rows of the first read (unlinked)
	spoolDone bool     // spool holds every row
	spoolSize int64
	reading   bool // the read that fills spool is under way
	closed    bool
}

// OpenInput parses an input URL and checks, before any work, that the
// database can be reached and the table or query can be read: it learns
// the columns and their database types (Schema). The rows are read later,
// by each Open.
func OpenInput(ctx context.Context, raw string) (*Input, error) {
	t, err := parse(raw, true)
	if err != nil {
		return nil, err
	}
	in := &Input{t: t}
	switch t.kind {
	case Postgres:
		err = in.preparePG(ctx)
	case SQLite:
		err = in.prepareSQLite(ctx)
	}
	if err != nil {
		return nil, err
	}
	return in, nil
}

// Name is how messages name the input: the URL with the password masked
// (and the table or a mention of the query).
func (in *Input) Name() string {
	if in.t.table != "" {
		return in.t.display + " table " + in.t.table
	}
	return in.t.display + " (query)"
}

// Location says where the input lives (Table is "" for a query).
func (in *Input) Location() Location { return in.loc }

// Schema lists the columns the input has, with their database types.
func (in *Input) Schema() []frame.Field { return in.schema }

// Open starts reading the rows as CSV with a header line.
//
// The first Open runs the query and streams its rows while keeping a copy
// in an unlinked temporary file (in $TMPDIR: nothing is left behind, even
// if the process is killed). Once a read has reached the end, every later
// Open reads that copy: all reads of a run (the cache key's hash, the
// nodes, a second look at duplicate rows, the summary's checksum) see the
// same rows, and the query runs once. Close releases the copy.
func (in *Input) Open() (io.ReadCloser, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return nil, fmt.Errorf("%s: input already closed", in.Name())
	}
	if in.spool != nil && in.spoolDone {
		return io.NopCloser(io.NewSectionReader(in.spool, 0, in.spoolSize)), nil
	}
	if in.reading {
		// A read is under way (not a pattern salesdag uses): read the
		// database directly, without a copy.
		return in.stream(nil), nil
	}
	if in.spool != nil {
		in.spool.Close() // an earlier read stopped before the end
		in.spool = nil
	}
	f, err := os.CreateTemp("", "salesdag-input-*")
	if err != nil {
		return nil, fmt.Errorf("%s: a temporary copy of the rows: %w", in.Name(), err)
	}
	os.Remove(f.Name()) // unlinked: it lives as long as the handle
	in.spool, in.reading = f, true
	return in.stream(f), nil
}

// Close releases the copy of the rows.
func (in *Input) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closed = true
	if in.spool != nil && !in.reading {
		in.spool.Close()
		in.spool = nil
	}
	return nil
}

// stream runs the query into a pipe; with spool, the bytes read are also
// written there.
func (in *Input) stream(spool *os.File) io.ReadCloser {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := in.openCopy(ctx, pw)
		if err != nil && ctx.Err() == nil {
			err = errors.New(in.t.scrub(err.Error()))
		}
		pw.CloseWithError(err)
	}()
	return &inputReader{in: in, r: pr, cancel: cancel, done: done, spool: spool}
}

type inputReader struct {
	in     *Input
	r      *io.PipeReader
	cancel context.CancelFunc
	done   chan struct{}
	spool  *os.File // nil: no copy
	n      int64
	err    error // writing the copy failed
	eof    bool
	once   sync.Once
}

func (r *inputReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if r.spool != nil && n > 0 && r.err == nil {
		if _, werr := r.spool.Write(p[:n]); werr != nil {
			r.err = werr
		}
	}
	r.n += int64(n)
	if errors.Is(err, io.EOF) {
		r.eof = true
	}
	return n, err
}

func (r *inputReader) Close() error {
	r.once.Do(func() {
		r.cancel()
		r.r.Close()
		<-r.done
		if r.spool == nil {
			return
		}
		in := r.in
		in.mu.Lock()
		defer in.mu.Unlock()
		in.reading = false
		switch {
		case in.closed || !r.eof || r.err != nil:
			r.spool.Close()
			in.spool = nil
		default:
			in.spoolDone, in.spoolSize = true, r.n
		}
	})
	return nil
}
