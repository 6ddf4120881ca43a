package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/dbio"
	"github.com/salesdag/salesdag/internal/pipeline"
	"github.com/salesdag/salesdag/internal/units"
)

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\033[K"

// screen is stderr while a status line may be shown: every write
// (logs, warnings) first clears the status line, so nothing is ever
// glued onto it; the next status update draws it again.
type screen struct {
	mu    sync.Mutex
	w     io.Writer
	shown bool
}

func newScreen(w io.Writer) *screen { return &screen{w: w} }

// Write clears the status line, then writes p.
func (s *screen) Write(p []byte) (int, error) { return s.writeTo(s.w, p) }

// also returns a writer to w (stdout on the same terminal, say) that
// clears the status line first, as Write does.
func (s *screen) also(w io.Writer) io.Writer { return alsoWriter{s, w} }

type alsoWriter struct {
	s *screen
	w io.Writer
}

func (a alsoWriter) Write(p []byte) (int, error) { return a.s.writeTo(a.w, p) }

func (s *screen) writeTo(w io.Writer, p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.erase()
	return w.Write(p)
}

// status replaces the status line with text.
func (s *screen) status(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	io.WriteString(s.w, clearLine+text)
	s.shown = true
}

// clear removes the status line, if any.
func (s *screen) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.erase()
}

// erase removes the status line, if any; s.mu is held.
func (s *screen) erase() {
	if s.shown {
		io.WriteString(s.w, clearLine)
		s.shown = false
	}
}

// progress draws the phase of a run on the status line: reading (bytes,
// rows, speed), computing (the nodes running), writing, and delivering
// lineage (with the time left of the grace period).
type progress struct {
	s     *screen
	input string // the input's name, for "reading"
	start time.Time

	mu      sync.Mutex
	last    time.Time // last redraw of the reading line
	running []string  // nodes computing now, in start order
}

func newProgress(s *screen, inputs []string) *progress {
	var input string
	switch {
	case len(inputs) == 0:
		input = "the embedded sample"
	case dbio.IsURL(inputs[0]):
		input = "the database"
	case len(inputs) == 1 && !pipeline.IsGlob(inputs[0]):
		input = filepath.Base(inputs[0])
	default:
		input = "the input files"
		if in, err := app.ResolveInputs(inputs); err == nil && len(in.Files) > 0 {
			input = units.Plural(int64(len(in.Files)), "file")
		}
	}
	return &progress{s: s, input: input, start: time.Now()}
}

// read is the reader's progress callback; it redraws at most ten times a
// second.
func (p *progress) read(done, total, rows int64) {
	now := time.Now()
	p.mu.Lock()
	if now.Sub(p.last) < 100*time.Millisecond {
		p.mu.Unlock()
		return
	}
	p.last = now
	p.mu.Unlock()
	p.s.status(readLine(p.input, done, total, rows, now.Sub(p.start)))
}

// readLine is the status while reading, e.g.
// "reading sales.csv: 42.0 MiB of 88.0 MiB (47%), 1,431,483 rows, 173 MB/s".
func readLine(input string, done, total, rows int64, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "reading %s: %s", input, units.Bytes(done))
	if total > 0 {
		fmt.Fprintf(&b, " of %s (%d%%)", units.Bytes(total), done*100/total)
	}
	fmt.Fprintf(&b, ", %s", units.Plural(rows, "row"))
	if secs := took.Seconds(); secs > 0 {
		fmt.Fprintf(&b, ", %.0f MB/s", float64(done)/secs/1e6)
	}
	return b.String()
}

// hooks follow the nodes: the input node reads, the others compute.
func (p *progress) hooks() dag.Hooks {
	return dag.Hooks{
		BeforeNode: func(_ context.Context, n *dag.Node) {
			if n.Name == pipeline.NodeRaw {
				p.s.status("reading " + p.input)
				return
			}
			p.mu.Lock()
			p.running = append(p.running, n.Name)
			line := "computing " + strings.Join(p.running, ", ")
			p.mu.Unlock()
			p.s.status(line)
		},
		AfterNode: func(_ context.Context, n *dag.Node, _ dag.NodeResult) {
			p.mu.Lock()
			p.running = slices.DeleteFunc(p.running, func(s string) bool { return s == n.Name })
			line := ""
			if len(p.running) > 0 {
				line = "computing " + strings.Join(p.running, ", ")
			}
			p.mu.Unlock()
			if line != "" {
				p.s.status(line)
			}
		},
	}
}

// writing is shown while the output files are written.
func (p *progress) writing() { p.s.status("writing the results") }

// delivering shows the lineage delivery's countdown until stop is called;
// fast deliveries (under 150 ms) show nothing.
func (p *progress) delivering(grace time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		start := time.Now()
		tick := time.NewTicker(150 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				left := (grace - now.Sub(start)).Round(time.Second)
				p.s.status(fmt.Sprintf("delivering lineage events (%s left)", max(left, 0)))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		p.s.clear()
	}
}
