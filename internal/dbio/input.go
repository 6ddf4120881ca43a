package dbio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
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

	mu   sync.Mutex
	sum  []byte // SHA-256 of the first complete read
	size int64
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

// Open starts reading the rows as CSV with a header line. Each call runs
// the query again; a read that reaches the end is checksummed, and one
// whose bytes differ from an earlier complete read fails at its end
// ("changed while salesdag read it"), so two reads in one run (the cache
// key, then the nodes) always see the same data.
func (in *Input) Open() (io.ReadCloser, error) {
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
	return &inputReader{in: in, r: pr, cancel: cancel, done: done, h: sha256.New()}, nil
}

type inputReader struct {
	in     *Input
	r      *io.PipeReader
	cancel context.CancelFunc
	done   chan struct{}
	h      hash.Hash
	n      int64
	once   sync.Once
}

func (r *inputReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if errors.Is(err, io.EOF) {
		if cerr := r.in.complete(r.h.Sum(nil), r.n); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

func (r *inputReader) Close() error {
	r.once.Do(func() {
		r.cancel()
		r.r.Close()
		<-r.done
	})
	return nil
}

// complete records a complete read and compares it with the first one.
func (in *Input) complete(sum []byte, size int64) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.sum == nil {
		in.sum, in.size = sum, size
		return nil
	}
	if !bytes.Equal(in.sum, sum) {
		return fmt.Errorf("%s changed while salesdag read it (%d bytes, then %d bytes of CSV): run again when it is not being written", in.Name(), in.size, size)
	}
	return nil
}
