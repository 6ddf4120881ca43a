package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	defaultChunkSize = 1 << 20
	// maxRecordBytes bounds one record (a quoted field may span lines); a
	// longer one is almost always an unterminated quote.
	maxRecordBytes = 64 << 20
)

// BadRowError is the error for the first bad row when failing on bad rows.
type BadRowError struct {
	File   string
	Line   int64
	Reason string
}

func (e *BadRowError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason) }

// splitter reads the input in large chunks that end on record boundaries.
type splitter struct {
	r       io.Reader
	size    int
	carry   []byte // the start of an incomplete record, for the next chunk
	eof     bool
	started bool
	read    int64
	line    int64 // line number of the next chunk's first byte
	pos     int64 // source offset of the next chunk's first byte
	base    int64 // source offset of the chunk last returned
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// next fills buf (reallocating it when too small) with the next chunk and
// returns it with the chunk's length and first line. It returns n == 0 at
// the end of the input.
func (s *splitter) next(buf []byte) ([]byte, int, int64, error) {
	if s.eof && len(s.carry) == 0 {
		return buf, 0, s.line, nil
	}
	want := max(s.size, 2*len(s.carry)) + pad
	if len(buf) < want {
		buf = make([]byte, want)
	}
	n := copy(buf, s.carry)
	s.carry = s.carry[:0]
	zeroReads := 0
	for {
		for !s.eof && n < len(buf)-pad {
			m, err := s.r.Read(buf[n : len(buf)-pad])
			n += m
			s.read += int64(m)
			switch {
			case errors.Is(err, io.EOF):
				s.eof = true
			case err != nil:
				return buf, 0, s.line, err
			case m == 0:
				if zeroReads++; zeroReads > 100 {
					return buf, 0, s.line, io.ErrNoProgress
				}
			}
		}
		if !s.started {
			s.started = true
			if bytes.HasPrefix(buf[:n], bom) {
				n = copy(buf, buf[len(bom):n])
				s.pos += int64(len(bom))
			}
		}
		cut := n
		if !s.eof {
			cut = recordCut(buf[:n])
		}
		if cut > 0 || s.eof {
			s.carry = append(s.carry, buf[cut:n]...)
			line := s.line
			s.line += int64(bytes.Count(buf[:cut], []byte{'\n'}))
			s.base, s.pos = s.pos, s.pos+int64(cut)
			return buf, cut, line, nil
		}
		if n < len(buf)-pad {
			continue // room left after dropping a BOM
		}
		// One record fills the whole buffer: grow it.
		if len(buf)-pad >= maxRecordBytes {
			return buf, 0, s.line, fmt.Errorf("line %d: record longer than %d MiB (unterminated quoted field?)", s.line, maxRecordBytes>>20)
		}
		nb := make([]byte, 2*(len(buf)-pad)+pad)
		copy(nb, buf[:n])
		buf = nb
	}
}

// headerChunk reads chunks into buf until one holds the header (leading
// blank lines are skipped) and parses it: the chunk, its length, the
// layout, the offset of the first data row and its line. readError words
// a failed read; buf is returned on errors too, so that it can be reused.
func headerChunk(sp *splitter, buf []byte, name string, afterChunk func(read int64), readError func(error) error) (_ []byte, n int, lay *layout, off int, line int64, err error) {
	for lay == nil {
		buf, n, line, err = sp.next(buf)
		if afterChunk != nil {
			afterChunk(sp.read)
		}
		switch {
		case err != nil:
			return buf, 0, nil, 0, 0, readError(err)
		case n == 0 && sp.read == 0:
			return buf, 0, nil, 0, 0, fmt.Errorf("input %s: file is empty", name)
		case n == 0:
			return buf, 0, nil, 0, 0, fmt.Errorf("input %s: no header row (only blank lines)", name)
		}
		if lay, off, line, err = readHeader(name, buf, n, line); err != nil {
			return buf, 0, nil, 0, 0, err
		}
	}
	return buf, n, lay, off, line, nil
}

// recordCut returns the length of the longest prefix of b made of complete
// records, 0 when b holds none. b starts on a record boundary. It follows
// quotes exactly as tokenize does, jumping from quote to quote, so a
// newline inside a quoted field is never taken for a record end: the cut
// is after the last newline of an unquoted stretch.
func recordCut(b []byte) int {
	lastNL, span, i := -1, 0, 0
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			break
		}
		q += i
		if q > 0 && b[q-1] != ',' && b[q-1] != '\n' {
			i = q + 1 // a bare quote: literal (and a bad row)
			continue
		}
		if p := bytes.LastIndexByte(b[span:q], '\n'); p >= 0 {
			lastNL = span + p
		}
		j := q + 1
		for {
			k := bytes.IndexByte(b[j:], '"')
			if k < 0 || j+k+1 == len(b) { // unclosed, or "" cannot be told from a close yet
				return lastNL + 1
			}
			k += j
			if b[k+1] == '"' {
				j = k + 2
				continue
			}
			i = k + 1
			break
		}
		span = i
	}
	if p := bytes.LastIndexByte(b[span:], '\n'); p >= 0 {
		lastNL = span + p
	}
	return lastNL + 1
}

// readHeader finds the header (the first non-blank record) in buf[:n] and
// returns where the data starts and the header's line.
func readHeader(name string, buf []byte, n int, line int64) (*layout, int, int64, error) {
	pos := 0
	for pos < n {
		e := bytes.IndexByte(buf[pos:n], '\n')
		next := n
		if e >= 0 {
			next = pos + e + 1
			e += pos
		} else {
			e = n
		}
		if isBlank(bytes.TrimSuffix(buf[pos:e], []byte{'\r'})) {
			pos, line = next, line+1
			continue
		}
		t := tokenize(buf[:n], pos, nil, nil, nil, math.MaxInt32)
		switch {
		case t.unterminated:
			return nil, 0, 0, fmt.Errorf("%s:%d: header: unterminated quoted field", name, line)
		case !isValidUTF8(buf[pos:t.end]):
			return nil, 0, 0, fmt.Errorf("%s:%d: header: invalid UTF-8", name, line)
		case t.syntax != "":
			return nil, 0, 0, fmt.Errorf("%s:%d: header: %s", name, line, t.syntax)
		}
		lay := &layout{nfields: t.nfields, col: [4]int{-1, -1, -1, -1}}
		for k := range t.nfields {
			f := string(t.out[t.st[k]:t.en[k]])
			lay.names = append(lay.names, f)
			for r, want := range ColumnNames {
				if f != want {
					continue
				}
				if lay.col[r] >= 0 {
					return nil, 0, 0, fmt.Errorf("%s:%d: column %q appears twice in the header", name, line, want)
				}
				lay.col[r] = k
			}
		}
		var missing []string
		for r, k := range lay.col {
			if k < 0 {
				missing = append(missing, ColumnNames[r])
			}
		}
		if len(missing) > 0 {
			if !looksLikeHeader(lay.names) {
				// Most likely a file without a header line: its first
				// line is data, which a message must never quote.
				return nil, 0, 0, fmt.Errorf("%s:%d: no header line: the first line does not name any of the columns %s; add that header line", name, line, strings.Join(ColumnNames[:], ","))
			}
			word := "column"
			if len(missing) > 1 {
				word = "columns"
			}
			return nil, 0, 0, fmt.Errorf("%s:%d: missing required %s %s (header has: %s; need %s)", name, line,
				word, strings.Join(missing, ", "), quoteHeader(lay.names), strings.Join(ColumnNames[:], ","))
		}
		return lay, t.next, line + int64(t.lines), nil
	}
	return nil, n, line, nil
}

// looksLikeHeader reports whether a first record is a header, that is,
// names at least one required column (ignoring case, surrounding spaces,
// spaces or hyphens for underscores, and another separator such as ';').
// Only then may messages quote it.
func looksLikeHeader(fields []string) bool {
	norm := strings.NewReplacer(" ", "_", "-", "_")
	for _, f := range fields {
		for _, name := range strings.FieldsFunc(f, func(r rune) bool { return r == ';' || r == '\t' || r == '|' }) {
			name = norm.Replace(strings.ToLower(strings.TrimSpace(name)))
			if slices.Contains(ColumnNames[:], name) {
				return true
			}
		}
	}
	return false
}

// quoteHeader renders header fields for a message: as they are, joined
// by commas, except that a field with a control character (a line break
// in a quoted field, say) is Go-quoted, so the message stays on one line.
func quoteHeader(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n
		if strings.ContainsFunc(n, unicode.IsControl) {
			out[i] = strconv.Quote(n)
		}
	}
	return strings.Join(out, ",")
}

// job is one chunk on its way through the workers.
type job struct {
	buf    []byte
	off, n int
	line   int64
	base   int64 // source offset of buf[0]
	done   chan struct{}
	res    chunkResult
	err    error // a panic while parsing the chunk (a bug)
}

// parseJob parses one chunk; a panic becomes the job's error, so that it
// fails the run instead of ending the process from a worker goroutine.
func parseJob(p *parser, j *job) {
	defer func() {
		if v := recover(); v != nil {
			j.err = newPanicError(v)
		}
	}()
	p.base = j.base
	p.parse(j.buf, j.off, j.n, j.line, &j.res)
}

// ReadSales is the raw_sales_data node: it reads and types every data row
// of the source.
func ReadSales(ctx context.Context, src Source, opts Options) (out *RawSales, err error) {
	if len(src.Files) > 0 || src.Gzip || src.Zstd {
		return readFiles(ctx, src, opts) // multi.go
	}
	name := src.Name
	if name == "" {
		name = src.Path
	}
	if src.Open == nil {
		return nil, fmt.Errorf("input %s: no way to open it", name)
	}
	rc, err := src.Open()
	if err != nil {
		return nil, fmt.Errorf("input %s: cannot be opened: %w", name, err)
	}
	defer rc.Close()
	// A read from a pipe or a stalled network file does not watch ctx:
	// closing the source on cancellation unblocks it.
	stopClose := context.AfterFunc(ctx, func() { rc.Close() })
	defer stopClose()
	readError := func(err error) error {
		if ctx.Err() != nil {
			err = ctx.Err() // the read failed because we closed the source
		}
		return fmt.Errorf("reading %s: %w", name, err)
	}

	size := opts.chunkSize
	if size <= 0 {
		size = defaultChunkSize
	}
	size = max(size, len(bom)) // the first chunk must hold a whole BOM
	sp := &splitter{r: rc, size: size, line: 1}

	// A file that changes while it is read (appended to, truncated,
	// rewritten) would give results from no version of it: whatever the
	// outcome of the read, that is the error to report.
	watch := watchFile(rc, src.Stream)
	defer func() {
		if ctx.Err() != nil {
			return // interrupted: that is the error
		}
		if cerr := watch.check(name, sp.read, sp.eof); cerr != nil {
			out, err = nil, cerr
		}
	}()

	buf, n, lay, off, line, err := headerChunk(sp, nil, name, opts.afterChunk, readError)
	if err != nil {
		return nil, err
	}

	workers := opts.workers()
	skip := opts.OnBadRows == SkipBadRows
	// Streaming mode needs a source it can read again (see agg.go).
	stream := !opts.KeepRows && !src.Stream && src.Size < maxStreamSize
	parsers := make([]*parser, workers)
	aggFree := make(chan chunkAgg, 2*workers+2)
	for w := range parsers {
		parsers[w] = newParser(lay, skip, w)
		parsers[w].fast = parsers[w].fast && !opts.noFastPath
		if stream {
			parsers[w].agg = newWorkerAgg(aggFree, !opts.profileOnly, opts.Profile || opts.profileOnly)
		}
	}
	var daily *dailyAcc
	if stream {
		daily = newDailyAcc()
	}

	var (
		stop    atomic.Bool
		readErr error
		jobs    = make(chan *job, workers)
		order   = make(chan *job, 2*workers+2)
		free    = make(chan []byte, 2*workers+2)
		wg      sync.WaitGroup
	)
	for range cap(free) - 1 {
		free <- nil
	}
	for w := range workers {
		wg.Add(1)
		go func(p *parser) {
			defer wg.Done()
			for j := range jobs {
				if !stop.Load() {
					parseJob(p, j)
				}
				free <- j.buf
				j.buf = nil
				close(j.done)
			}
		}(parsers[w])
	}
	go func() {
		defer close(order)
		defer close(jobs)
		defer func() { // runs first: readErr is set before order closes
			if v := recover(); v != nil {
				readErr = newPanicError(v)
			}
		}()
		b, o, cn, ln, bs := buf, off, n, line, sp.base
		for {
			if cn > o {
				j := &job{buf: b, off: o, n: cn, line: ln, base: bs, done: make(chan struct{})}
				order <- j
				jobs <- j
			} else {
				free <- b
			}
			if stop.Load() {
				return
			}
			if err := ctx.Err(); err != nil {
				readErr = err
				return
			}
			b = <-free
			var err error
			b, cn, ln, err = sp.next(b)
			o, bs = 0, sp.base
			if opts.afterChunk != nil {
				opts.afterChunk(sp.read)
			}
			if err != nil {
				readErr = readError(err)
				return
			}
			if cn == 0 {
				free <- b
				return
			}
		}
	}()

	raw := &RawSales{name: name, workers: workers, skipMode: skip, minDate: math.MaxInt32, maxDate: math.MinInt32, lay: lay}
	var cleaned int
	var firstErr error
	var doneBytes, doneRows int64
	for j := range order {
		<-j.done
		if firstErr != nil {
			continue
		}
		r := &j.res
		if j.err != nil {
			firstErr = j.err
			stop.Store(true)
			continue
		}
		if r.fatal != nil {
			firstErr = &BadRowError{File: name, Line: r.fatal.Line, Reason: r.fatal.Reason}
			stop.Store(true)
			continue
		}
		rows := r.seg.len()
		if stream {
			rows = r.agg.rows
			raw.n += rows
			cleaned += r.agg.cleaned
			daily.take(&r.agg, aggFree)
		} else if rows > 0 {
			raw.segs = append(raw.segs, r.seg)
		}
		if opts.Progress != nil {
			doneBytes += int64(j.n - j.off)
			doneRows += int64(rows)
			opts.Progress(doneBytes, doneRows)
		}
		raw.rejected = append(raw.rejected, r.rejected...)
		for c := range raw.nulls {
			raw.nulls[c] += r.nulls[c]
		}
		raw.minDate = min(raw.minDate, r.minDate)
		raw.maxDate = max(raw.maxDate, r.maxDate)
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = readErr
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return nil, firstErr
	}
	raw.bytes = sp.read
	if opts.Progress != nil {
		opts.Progress(sp.read, doneRows) // exact totals at the end
	}
	if stream {
		raw.finishStream(parsers, src, opts, watch, cleaned, daily)
	} else {
		raw.finish(parsers)
	}
	if raw.n == 0 && len(raw.rejected) == 0 {
		return nil, fmt.Errorf("input %s: %w", name, errOnlyHeader)
	}
	return raw, nil
}

// ErrInputChanged is the error for an input file that changed while it
// was being read.
var ErrInputChanged = errors.New("input changed while it was being read")

// fileWatch remembers the size and modification time of a regular file
// when it was opened.
type fileWatch struct {
	f     interface{ Stat() (fs.FileInfo, error) }
	size  int64
	mtime time.Time
}

// watchFile starts watching rc when it is a regular file (a stream or a
// /proc file has no meaningful size: nothing to compare).
func watchFile(rc io.Reader, stream bool) *fileWatch {
	f, ok := rc.(interface{ Stat() (fs.FileInfo, error) })
	if !ok || stream {
		return nil
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	return &fileWatch{f: f, size: st.Size(), mtime: st.ModTime()}
}

// check compares the file now with the file when opened; read is how
// many bytes were read, complete whether the read reached the end.
func (w *fileWatch) check(name string, read int64, complete bool) error {
	if w == nil {
		return nil
	}
	var detail string
	st, err := w.f.Stat()
	switch {
	case err != nil:
		detail = fmt.Sprintf("cannot stat it again: %v", err)
	case st.Size() != w.size:
		detail = fmt.Sprintf("its size went from %d to %d bytes", w.size, st.Size())
	case !st.ModTime().Equal(w.mtime):
		detail = "it was modified during the read"
	case complete && read != w.size:
		detail = fmt.Sprintf("read %d bytes of %d", read, w.size)
	default:
		return nil
	}
	return fmt.Errorf("%w: %s (%s); run again once nothing is writing to it", ErrInputChanged, name, detail)
}

func isValidUTF8(b []byte) bool { return isASCII(b) || utf8.Valid(b) }
