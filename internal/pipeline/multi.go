package pipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// Many files. A multi-file input (Source.Files) is the concatenation of
// its files' data rows, in order; each file has its own header, checked on
// its own, and its own line numbers. A gzip file (one file or several)
// goes the same way, decompressed while it is read.
//
// Several files are read at once: up to readAhead files have a reading
// goroutine (which opens, decompresses and cuts the file into chunks);
// their chunks all go to the same parsing workers, and the goroutine that
// collects the parsed chunks takes them file by file, chunk by chunk, so
// every result is the one of reading the files one after the other (the
// rows, the rejected rows and the per-date sums in file order). A file
// ahead of the collector keeps at most fileQueue parsed chunks waiting, so
// memory stays bounded whatever the files' sizes.

// fileJob is a chunk of one file of the input.
type fileJob struct {
	job
	file int     // index in the source's files
	lay  *layout // the file's header
	raw  int64   // bytes of the file read (compressed, for gzip) when the chunk was cut
}

// fileRead is the reading of one file.
type fileRead struct {
	src   Source
	order chan *fileJob // the file's chunks, in order; closed after err is set
	err   error
	lay   *layout
	read  int64 // bytes of the file read (compressed, for gzip)
	data  int64 // bytes of CSV read (decompressed)
	eof   bool  // read to the end
	watch *fileWatch
}

// errStreamTooLarge: a decompressed file is past the offsets streaming
// mode can record; the read starts again in rows mode.
// errOnlyHeader: the input has a header and no data row.
var errOnlyHeader = errors.New("no data rows, only a header")

var errStreamTooLarge = errors.New("decompressed input too large for streaming mode")

// layouts gives one *layout per distinct header, so that files with the
// same header share parsers (and dictionaries).
type layouts struct {
	mu   sync.Mutex
	list []*layout
}

func (ls *layouts) canonical(l *layout) *layout {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, o := range ls.list {
		if o.nfields == l.nfields && o.col == l.col && slices.Equal(o.names, l.names) {
			return o
		}
	}
	ls.list = append(ls.list, l)
	return l
}

// decompress returns the CSV bytes of a part of the input read from rc,
// the counter of the bytes read from rc, and, for a compressed part, what
// releases the decompressor (call it once done).
func decompress(rc io.Reader, src Source) (io.Reader, *countingReader, func(), error) {
	cr := &countingReader{r: rc}
	switch {
	case src.Gzip:
		zr, err := newGzipReader(bufio.NewReaderSize(cr, 64<<10))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading %s: %w", src.Name, err)
		}
		return zr, cr, func() { zr.Close() }, nil
	case src.Zstd:
		zr, err := newZstdReader(bufio.NewReaderSize(cr, 64<<10))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading %s: %w", src.Name, err)
		}
		return zr, cr, zr.Close, nil
	}
	return cr, cr, nil, nil
}

// readFiles is ReadSales for a multi-file or gzip source.
func readFiles(ctx context.Context, src Source, opts Options) (*RawSales, error) {
	out, err := readFilesOnce(ctx, src, opts)
	if errors.Is(err, errStreamTooLarge) && !opts.KeepRows {
		opts.KeepRows = true
		return readFilesOnce(ctx, src, opts)
	}
	return out, err
}

func readFilesOnce(ctx context.Context, src Source, opts Options) (out *RawSales, err error) {
	parts := src.parts()
	multi := len(src.Files) > 0
	name := src.Name
	if name == "" {
		name = src.Path
	}
	for i := range parts {
		if parts[i].Name == "" {
			parts[i].Name = parts[i].Path
		}
		if parts[i].Open == nil {
			return nil, fmt.Errorf("input %s: no way to open it", parts[i].Name)
		}
	}
	size := opts.chunkSize
	if size <= 0 {
		size = defaultChunkSize
	}
	size = max(size, len(bom))
	workers := opts.workers()
	skip := opts.OnBadRows == SkipBadRows
	stream := !opts.KeepRows
	for _, p := range parts {
		if p.Stream || p.Size >= maxStreamSize {
			stream = false
		}
	}
	readAhead := min(len(parts), max(2, workers))
	// Chunks of one file that may wait for the collector: enough to keep
	// every worker busy on the file being collected.
	fileQueue := 2*workers + 2

	frs := make([]*fileRead, len(parts))
	for i, p := range parts {
		frs[i] = &fileRead{src: p, order: make(chan *fileJob, fileQueue)}
	}
	// Up to FileProfileLimit files are measured one by one during the read
	// (for lineage): each file gets parsers of its own, whose dictionaries
	// and profile shares are that file's.
	perFile := multi && stream && len(parts) <= FileProfileLimit && (opts.Profile || opts.profileOnly)
	var (
		stop    atomic.Bool
		lays    layouts
		jobs    = make(chan *fileJob, workers)
		free    = make(chan []byte, 2*workers+2+readAhead)
		slots   = make(chan struct{}, readAhead)
		wg      sync.WaitGroup
		readers sync.WaitGroup
		pmu     sync.Mutex
		all     []*parser   // every parser, by id
		allFile []int       // perFile: the file of each parser
		dups    []*dupParts // streaming mode: entries per parser and file
		dupFile []int       // the file of each dups entry
		aggFree = make(chan chunkAgg, 2*workers+2)
	)
	for range cap(free) {
		free <- nil
	}
	newParserFor := func(lay *layout, file int) *parser {
		pmu.Lock()
		defer pmu.Unlock()
		p := newParser(lay, skip, len(all))
		if stream {
			p.agg = newWorkerAgg(aggFree, !opts.profileOnly, opts.Profile || opts.profileOnly)
		}
		all, allFile = append(all, p), append(allFile, file)
		return p
	}
	dupsFor := func(file int) *dupParts {
		pmu.Lock()
		defer pmu.Unlock()
		d := &dupParts{}
		dups, dupFile = append(dups, d), append(dupFile, file)
		return d
	}

	// Workers: any chunk of any file.
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			type state struct {
				p    *parser
				file int
				dups map[int]*dupParts
			}
			type key struct {
				lay  *layout
				file int // perFile; else -1
			}
			mine := map[key]*state{}
			for j := range jobs {
				if !stop.Load() {
					k := key{j.lay, -1}
					if perFile {
						k.file = j.file
					}
					s := mine[k]
					if s == nil {
						s = &state{p: newParserFor(j.lay, k.file), file: -1, dups: map[int]*dupParts{}}
						mine[k] = s
					}
					if a := s.p.agg; a != nil && a.dups != nil && s.file != j.file {
						// Duplicate entries hold offsets within a file: one
						// list per file.
						d := s.dups[j.file]
						if d == nil {
							d = dupsFor(j.file)
							s.dups[j.file] = d
						}
						a.dups, s.file = d, j.file
					}
					parseJob(s.p, &j.job)
				}
				free <- j.buf
				j.buf = nil
				close(j.done)
			}
		}()
	}

	// One file: header, then chunks to the workers and to the file's queue.
	readFile := func(i int, fr *fileRead) {
		defer close(fr.order)
		defer func() {
			if v := recover(); v != nil {
				fr.err = newPanicError(v)
			}
		}()
		fname := fr.src.Name
		rc, err := fr.src.Open()
		if err != nil {
			fr.err = fmt.Errorf("input %s: cannot be opened: %w", fname, err)
			return
		}
		data, cr, done, err := decompress(rc, fr.src)
		if err != nil {
			rc.Close()
			fr.err = err
			return
		}
		defer rc.Close()
		if done != nil {
			defer done() // first: the decompressor stops before the file closes
		}
		stopClose := context.AfterFunc(ctx, func() { rc.Close() })
		defer stopClose()
		fr.watch = watchFile(rc, fr.src.Stream)
		readError := func(err error) error {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return fmt.Errorf("reading %s: %w", fname, err)
		}
		sp := &splitter{r: data, size: size, line: 1}
		// A file that changes while it is read gives results from no
		// version of it: whatever the outcome, that is the error.
		defer func() {
			fr.read, fr.data, fr.eof = cr.n.Load(), sp.read, sp.eof
			if ctx.Err() == nil {
				if cerr := fr.watch.check(fname, fr.read, fr.eof); cerr != nil {
					fr.err = cerr
				}
			}
		}()
		buf, n, lay, off, line, err := headerChunk(sp, <-free, fname, opts.afterChunk, readError)
		if err != nil {
			free <- buf
			fr.err = err
			return
		}
		lay = lays.canonical(lay)
		fr.lay = lay
		b, o, cn, ln, bs := buf, off, n, line, sp.base
		for {
			if stream && sp.pos >= maxStreamSize {
				free <- b
				fr.err = errStreamTooLarge
				return
			}
			if cn > o {
				j := &fileJob{job: job{buf: b, off: o, n: cn, line: ln, base: bs, done: make(chan struct{})}, file: i, lay: lay, raw: cr.n.Load()}
				jobs <- j // first: the buffer comes back once parsed
				fr.order <- j
			} else {
				free <- b
			}
			if stop.Load() {
				return
			}
			if err := ctx.Err(); err != nil {
				fr.err = err
				return
			}
			b = <-free
			b, cn, ln, err = sp.next(b)
			o, bs = 0, sp.base
			if opts.afterChunk != nil {
				opts.afterChunk(sp.read)
			}
			if err != nil {
				free <- b
				fr.err = readError(err)
				return
			}
			if cn == 0 {
				free <- b
				return
			}
		}
	}

	// Files start in order, at most readAhead of them not yet collected.
	go func() {
		defer close(jobs)
		for i, fr := range frs {
			slots <- struct{}{}
			if stop.Load() || ctx.Err() != nil {
				close(fr.order)
				continue
			}
			readers.Add(1)
			go func() {
				defer readers.Done()
				readFile(i, fr)
			}()
		}
		readers.Wait()
	}()

	raw := &RawSales{name: name, workers: workers, skipMode: skip, minDate: math.MaxInt32, maxDate: math.MinInt32}
	var daily *dailyAcc
	if stream {
		daily = newDailyAcc()
	}
	var (
		cleaned   int
		firstErr  error
		doneBytes int64 // bytes of the files collected so far
		doneRows  int64
	)
	errFile := -1 // the file of firstErr
	stats := make([]FileStats, len(frs))
	nulls := make([][4]int64, len(frs))
	for i, fr := range frs {
		for j := range fr.order {
			<-j.done
			if firstErr != nil {
				continue
			}
			r := &j.res
			if j.err != nil {
				firstErr, errFile = j.err, i
				stop.Store(true)
				continue
			}
			if r.fatal != nil {
				firstErr, errFile = &BadRowError{File: fr.src.Name, Line: r.fatal.Line, Reason: r.fatal.Reason}, i
				stop.Store(true)
				continue
			}
			rows := r.seg.len()
			st := &stats[i]
			st.Rows += int64(rows)
			st.Rejected += int64(len(r.rejected))
			if stream {
				rows = r.agg.rows
				st.Rows += int64(rows)
				st.Kept += int64(r.agg.cleaned)
				raw.n += rows
				cleaned += r.agg.cleaned
				daily.take(&r.agg, aggFree)
			} else if rows > 0 {
				raw.segs = append(raw.segs, r.seg)
				raw.segFile = append(raw.segFile, i)
			}
			doneRows += int64(rows)
			if opts.Progress != nil {
				opts.Progress(doneBytes+j.raw, doneRows)
			}
			if multi {
				for k := range r.rejected {
					r.rejected[k].File = fr.src.Name
				}
			}
			raw.rejected = append(raw.rejected, r.rejected...)
			for c := range raw.nulls {
				raw.nulls[c] += r.nulls[c]
				nulls[i][c] += r.nulls[c]
			}
			raw.minDate = min(raw.minDate, r.minDate)
			raw.maxDate = max(raw.maxDate, r.maxDate)
		}
		<-slots
		if fr.err != nil && (firstErr == nil || errFile == i && errors.Is(fr.err, ErrInputChanged)) {
			firstErr, errFile = fr.err, i
			stop.Store(true)
		}
		doneBytes += fr.read
		stats[i].Bytes = fr.read
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return nil, firstErr
	}
	raw.bytes = doneBytes
	if opts.Progress != nil {
		opts.Progress(doneBytes, doneRows)
	}
	raw.multi = multi
	raw.parts = parts
	raw.fileLays = make([]*layout, len(frs))
	raw.watches = make([]*fileWatch, len(frs))
	for i, fr := range frs {
		raw.fileLays[i], raw.watches[i] = fr.lay, fr.watch
	}
	raw.src, raw.opts = src, opts
	raw.fileStats = stats
	for i := range stats {
		stats[i].Name, stats[i].Path = parts[i].Name, parts[i].Path
	}
	if len(all) == 0 { // no data chunk at all: one parser for the merges
		all, allFile = append(all, newParser(frs[0].lay, skip, 0)), append(allFile, 0)
		if stream {
			all[0].agg = newWorkerAgg(aggFree, !opts.profileOnly, opts.Profile || opts.profileOnly)
		}
	}
	raw.lay = all[0].lay
	if perFile {
		// Before finishStream, which merges the parsers' shares.
		raw.fileProfiles = fileProfilesOf(all, allFile, stats, nulls)
	}
	if stream {
		raw.finishStream(all, src, opts, nil, cleaned, daily)
		raw.agg.dups = nil
		if !opts.profileOnly {
			// Entries hold offsets within their file: they become offsets
			// in the files' CSV bytes one after the other.
			raw.fileBase = make([]int64, len(frs))
			var base int64
			for i, fr := range frs {
				raw.fileBase[i] = base
				base += fr.data
			}
			if base >= maxStreamSize {
				return nil, errStreamTooLarge
			}
			for k, d := range dups {
				if b := raw.fileBase[dupFile[k]]; b > 0 {
					d.shift(b)
				}
			}
			raw.agg.dups = dups
		}
	} else {
		raw.finish(all)
	}
	if raw.n == 0 && len(raw.rejected) == 0 {
		return nil, fmt.Errorf("input %s: %w", name, errOnlyHeader)
	}
	return raw, nil
}

// FileProfiles returns the statistics of each file of a multi-file input,
// in order (nil for a single input), for lineage: each file is read again
// on its own, several at once. A file that cannot be read again (a pipe),
// or that has no data row, has no statistics (nil). The error is the
// first failure, if any; the other files' statistics are still returned.
func (r *RawSales) FileProfiles() ([]*InputProfile, error) {
	if !r.multi {
		return nil, nil
	}
	if r.fileProfiles != nil {
		return slices.Clone(r.fileProfiles), nil // measured during the read
	}
	out := make([]*InputProfile, len(r.parts))
	errs := make([]error, len(r.parts))
	conc := min(len(r.parts), r.workers)
	o := Options{OnBadRows: r.opts.OnBadRows, Workers: max(1, r.workers/max(conc, 1)), Profile: true, profileOnly: true}
	parallelFor(len(r.parts), conc, func(_, i int) {
		part := r.parts[i]
		if part.Stream {
			return
		}
		again, err := ReadSales(context.Background(), part, o)
		if errors.Is(err, errOnlyHeader) {
			p := InputProfile{Bytes: part.Size}
			for _, name := range ColumnNames {
				p.Columns = append(p.Columns, ColumnProfile{Name: name})
			}
			out[i] = &p
			return
		}
		if err != nil {
			errs[i] = fmt.Errorf("reading %s again for its statistics: %w", part.Name, err)
			return
		}
		p, err := again.Profile()
		if err != nil {
			errs[i] = err
			return
		}
		out[i] = &p
	})
	return out, errors.Join(errs...)
}

// FileStats counts the rows of one file of a multi-file input.
type FileStats struct {
	Name     string // as named on the command line or matched by a glob
	Path     string // absolute
	Bytes    int64  // read from the file (compressed bytes for gzip)
	Rows     int64  // data rows read
	Kept     int64  // rows that cleaning keeps
	Rejected int64  // rows set aside (--on-bad-rows=skip)
}

// FileStats returns the row counts of each file of a multi-file input, in
// order (nil for a single input).
func (r *RawSales) FileStats() []FileStats {
	if !r.multi {
		return nil
	}
	r.keptOnce.Do(func() {
		if r.agg != nil {
			return // streaming mode counted them while reading
		}
		for si := range r.segs {
			s := &r.segs[si]
			var c int64
			for i := range s.len() {
				if kept(s, i) {
					c++
				}
			}
			r.fileStats[r.segFile[si]].Kept += c
		}
	})
	return slices.Clone(r.fileStats)
}

// FileProfileLimit is the most files whose statistics the read measures
// one by one (a parser per file and worker); beyond it, FileProfiles reads
// each file again.
const FileProfileLimit = 100

// fileProfilesOf builds each file's profile from the shares of its
// parsers (file[k] is parser k's file): their profile shares merged, and
// the distinct product and long customer ids of their dictionaries.
func fileProfilesOf(parsers []*parser, file []int, stats []FileStats, nulls [][4]int64) []*InputProfile {
	out := make([]*InputProfile, len(stats))
	for i := range stats {
		pa := newProfAgg()
		var prods, custs []*dict
		for k, p := range parsers {
			if file[k] != i || p.agg == nil || p.agg.prof == nil {
				continue
			}
			pa.merge(p.agg.prof)
			prods, custs = append(prods, p.prods), append(custs, p.custs)
		}
		distinct := func(ds []*dict) int64 {
			switch len(ds) {
			case 0:
				return 0
			case 1:
				return int64(ds[0].len())
			}
			d, _ := mergeDicts(ds)
			return int64(d.len())
		}
		st := stats[i]
		p := pa.profileOf(st.Rows, st.Bytes, st.Rejected, nulls[i], distinct(prods), distinct(custs))
		out[i] = &p
	}
	return out
}
