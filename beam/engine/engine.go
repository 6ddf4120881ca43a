// Package engine is salesdag's Beam engine: the row work of step 1
// (parse, clean, daily aggregates, data-quality metrics with exact
// duplicate counting) as an Apache Beam pipeline of the Go SDK, run on
// Prism (in-process or at a job endpoint), Flink, Spark or Dataflow. Its
// DoFns call internal/pipeline's reader and arithmetic; its result is a
// raw_sales_data (pipeline.FromAggregates) that the driver's DAG takes
// through app.Engine, so step 2, the writers, checks, lineage and history
// are the native engine's.
package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // results on gs:// (Dataflow)
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // results in a local directory
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/spark"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// Runners.
const (
	RunnerPrism    = "prism"
	RunnerFlink    = "flink"
	RunnerSpark    = "spark"
	RunnerDataflow = "dataflow"
)

// Runners lists the runners, in the order help texts give them.
var Runners = []string{RunnerPrism, RunnerFlink, RunnerSpark, RunnerDataflow}

// Config is where and how the Beam job runs.
type Config struct {
	Runner string // prism (default), flink, spark, dataflow
	// JobEndpoint is the job service (HOST:PORT): required for flink and
	// spark (their job servers); for prism, "" runs Prism in this process.
	JobEndpoint string
	// EnvironmentType and EnvironmentConfig say how the runner starts the
	// SDK workers (Beam's --environment_type, --environment_config):
	// LOOPBACK (this process), DOCKER (the default of the portable
	// runners) or PROCESS.
	EnvironmentType   string
	EnvironmentConfig string
	// Dataflow: project, region and staging location (gs://...) are
	// required; WorkerBinary is this program built for linux/amd64.
	Project, Region, StagingLocation string
	WorkerBinary                     string
	// TempLocation receives the job's small results file; it must be
	// writable by the workers and readable here. Default: a temporary
	// directory (local runners), STAGING_LOCATION/tmp (Dataflow).
	TempLocation string
	// Log receives the SDK's and Prism's messages, at debug level; nil:
	// none.
	Log *slog.Logger
}

// ConfigError is a missing or wrong runner flag (a usage mistake).
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

// Check validates c: the runner is known and has the flags it needs.
func (c *Config) Check() error {
	if c.Runner == "" {
		c.Runner = RunnerPrism
	}
	switch c.Runner {
	case RunnerPrism:
	case RunnerFlink, RunnerSpark:
		if c.JobEndpoint == "" {
			return &ConfigError{fmt.Sprintf("--runner %s needs --job-endpoint HOST:PORT (the %s job server, e.g. localhost:8099)", c.Runner, c.Runner)}
		}
	case RunnerDataflow:
		var missing []string
		for _, f := range []struct{ name, v string }{{"--project", c.Project}, {"--region", c.Region}, {"--staging-location", c.StagingLocation}} {
			if f.v == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			return &ConfigError{fmt.Sprintf("--runner dataflow needs %s", strings.Join(missing, ", "))}
		}
		if !strings.HasPrefix(c.StagingLocation, "gs://") {
			return &ConfigError{"--staging-location must be a Cloud Storage path (gs://BUCKET/PATH)"}
		}
	default:
		return &ConfigError{fmt.Sprintf("unknown --runner %q (use %s)", c.Runner, strings.Join(Runners, ", "))}
	}
	if c.JobEndpoint != "" && c.Runner != RunnerDataflow {
		if _, _, err := net.SplitHostPort(c.JobEndpoint); err != nil {
			return &ConfigError{fmt.Sprintf("--job-endpoint %q is not HOST:PORT", c.JobEndpoint)}
		}
	}
	return nil
}

// Engine runs raw_sales_data as a Beam job (app.Engine).
type Engine struct {
	cfg Config
}

// New returns the engine. The configuration is checked when a job runs
// (Check), so that a missing runner flag fails the run (FAIL event).
func New(cfg Config) *Engine { return &Engine{cfg: cfg} }

// SDKVersion is the Beam Go SDK's version.
func SDKVersion() string { return core.SdkVersion }

// Info implements app.Engine.
func (e *Engine) Info() app.EngineInfo {
	return app.EngineInfo{Name: "Apache Beam", Version: SDKVersion(), Runner: e.cfg.Runner}
}

// Beam's options are process-wide flags: one job at a time.
var (
	runMu         sync.Mutex
	initOnce      sync.Once
	inProcessPort string // the in-process Prism's endpoint, once started
)

// fileOrderDates counts the dates whose sum was taken in file order (the
// tests report it).
var fileOrderDates atomic.Int64

// faultHook, set by tests only, makes a DoFn fail.
var faultHook func(point string, spec fileSpec) error

const faultParse = "parse"

func fault(point string, spec fileSpec) error {
	if faultHook == nil {
		return nil
	}
	return faultHook(point, spec)
}

// ReadSales implements app.Engine: it runs the job over src and builds
// raw_sales_data from its results.
func (e *Engine) ReadSales(ctx context.Context, src pipeline.Source, opts pipeline.Options) (*pipeline.RawSales, app.EngineJob, error) {
	if err := e.cfg.Check(); err != nil {
		return nil, app.EngineJob{}, err
	}
	files, err := fileSpecs(src)
	if err != nil {
		return nil, app.EngineJob{}, err
	}
	runMu.Lock()
	defer runMu.Unlock()
	initOnce.Do(beam.Init)
	// The SDK and Prism log through slog's default logger: their messages
	// go to the run's log at debug level, or nowhere.
	slog.SetDefault(slog.New(debugOnly{e.cfg.Log}))

	tmp, cleanup, err := e.tempLocation()
	if err != nil {
		return nil, app.EngineJob{}, err
	}
	defer cleanup()
	results := joinLocation(tmp, "results.jsonl")

	p, s := beam.NewPipelineWithRoot()
	build(s, files, opts.OnBadRows == pipeline.SkipBadRows, opts.Workers, results)

	if err := e.setFlags(); err != nil {
		return nil, app.EngineJob{}, err
	}
	if e.cfg.JobEndpoint != "" {
		if err := probe(ctx, e.cfg.JobEndpoint); err != nil {
			return nil, app.EngineJob{}, fmt.Errorf("beam %s job endpoint %s cannot be reached: %w; start the job server or check --job-endpoint", e.cfg.Runner, e.cfg.JobEndpoint, err)
		}
	}
	res, err := e.execute(ctx, p)
	var job app.EngineJob
	if res != nil {
		job.ID = res.JobID()
	}
	if e.cfg.Runner == RunnerPrism && e.cfg.JobEndpoint == "" && inProcessPort == "" {
		inProcessPort = *jobopts.Endpoint
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, job, ctx.Err()
		}
		return nil, job, fmt.Errorf("beam job on %s failed: %s", e.cfg.Runner, jobError(err))
	}
	if res != nil && job.ID == "" {
		job.ID = res.JobID()
	}
	agg, err := readResults(ctx, results, files, len(src.Files) > 0)
	if err != nil {
		return nil, job, err
	}
	if agg.Rows == 0 && len(agg.Rejected) == 0 {
		return nil, job, fmt.Errorf("input %s: no data rows, only a header", sourceName(src))
	}
	return pipeline.FromAggregates(src, opts, *agg), job, nil
}

func sourceName(src pipeline.Source) string {
	if src.Name != "" {
		return src.Name
	}
	return src.Path
}

// fileSpecs lists the files of src in input order.
func fileSpecs(src pipeline.Source) ([]fileSpec, error) {
	switch {
	case src.Stream:
		return nil, fmt.Errorf("input %s: the Beam engine reads files; a pipe or device input runs on the native engine (--engine native)", sourceName(src))
	case len(src.Files) > 0:
		specs := make([]fileSpec, len(src.Files))
		for i, f := range src.Files {
			if f.Stream {
				return nil, fmt.Errorf("input %s: the Beam engine reads files; a pipe or device input runs on the native engine (--engine native)", f.Name)
			}
			specs[i] = fileSpec{Index: i, File: f}
		}
		return specs, nil
	case src.Path == "" && strings.HasPrefix(src.Name, "sample/"):
		return []fileSpec{{Index: 0, File: pipeline.InputFile{Name: src.Name, Size: src.Size}, Sample: true}}, nil
	case src.Path == "":
		return nil, fmt.Errorf("input %s: the Beam engine reads files; a database input runs on the native engine (--engine native)", sourceName(src))
	}
	return []fileSpec{{Index: 0, File: pipeline.InputFile{Path: src.Path, Name: sourceName(src), Size: src.Size, Gzip: src.Gzip, Zstd: src.Zstd}}}, nil
}

// tempLocation returns where the results file goes, and how to remove it.
func (e *Engine) tempLocation() (string, func(), error) {
	loc := e.cfg.TempLocation
	if loc == "" && e.cfg.Runner == RunnerDataflow {
		loc = strings.TrimSuffix(e.cfg.StagingLocation, "/") + "/tmp"
	}
	if loc == "" {
		dir, err := os.MkdirTemp("", "salesdag-beam-")
		if err != nil {
			return "", nil, fmt.Errorf("beam engine: temporary directory: %w", err)
		}
		return dir, func() { os.RemoveAll(dir) }, nil
	}
	dir := joinLocation(loc, fmt.Sprintf("salesdag-%d-%d", os.Getpid(), time.Now().UnixNano()))
	return dir, func() { removeLocation(dir) }, nil
}

func joinLocation(dir, name string) string {
	if strings.Contains(dir, "://") {
		return strings.TrimSuffix(dir, "/") + "/" + name
	}
	return filepath.Join(dir, name)
}

// removeLocation removes the results file of a run (best effort).
func removeLocation(dir string) {
	ctx := context.Background()
	name := joinLocation(dir, "results.jsonl")
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return
	}
	defer fs.Close()
	if r, ok := fs.(filesystem.Remover); ok {
		_ = r.Remove(ctx, name)
	}
	if !strings.Contains(dir, "://") {
		os.Remove(dir)
	}
}

// setFlags puts the configuration into the SDK's process-wide options.
func (e *Engine) setFlags() error {
	c := e.cfg
	endpoint := c.JobEndpoint
	if c.Runner == RunnerPrism && endpoint == "" {
		endpoint = inProcessPort // "" starts Prism in this process
	}
	env := c.EnvironmentType
	if env == "" && c.Runner == RunnerPrism {
		env = "LOOPBACK" // the workers are this process
	}
	set := map[string]string{
		"endpoint":           endpoint,
		"environment_type":   env,
		"environment_config": c.EnvironmentConfig,
		"worker_binary":      c.WorkerBinary,
		"job_name":           "salesdag",
	}
	if c.Runner == RunnerDataflow {
		set["project"], set["region"], set["staging_location"] = c.Project, c.Region, c.StagingLocation
		set["endpoint"] = ""
	}
	for name, v := range set {
		if flag.Lookup(name) == nil {
			continue
		}
		if err := flag.Set(name, v); err != nil {
			return fmt.Errorf("beam option --%s: %w", name, err)
		}
	}
	return nil
}

func (e *Engine) execute(ctx context.Context, p *beam.Pipeline) (beam.PipelineResult, error) {
	switch e.cfg.Runner {
	case RunnerFlink:
		return flink.Execute(ctx, p)
	case RunnerSpark:
		return spark.Execute(ctx, p)
	case RunnerDataflow:
		return dataflow.Execute(ctx, p)
	}
	return prism.Execute(ctx, p)
}

// probe checks that a job endpoint accepts connections, so that a wrong
// address fails at once with a clear message instead of a gRPC timeout.
func probe(ctx context.Context, endpoint string) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", endpoint)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			return op.Err
		}
		return err
	}
	return c.Close()
}

// jobError squeezes a failed job's error (the SDK nests the worker's
// error in several lines of context) into its most telling line.
func jobError(err error) string {
	msg := err.Error()
	lines := strings.Split(msg, "\n")
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if i := strings.Index(l, "salesdag:"); i >= 0 {
			return strings.TrimSpace(l[i+len("salesdag:"):])
		}
	}
	var parts []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(parts, l) {
			parts = append(parts, l)
		}
		if len(parts) == 3 {
			break
		}
	}
	return strings.Join(parts, "; ")
}

// readResults reads the job's results file and merges its lines.
func readResults(ctx context.Context, name string, files []fileSpec, multi bool) (*pipeline.Aggregates, error) {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("beam engine: results %s: %w", name, err)
	}
	defer fs.Close()
	rc, err := fs.OpenRead(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("beam engine: the job wrote no results at %s: %w", name, err)
	}
	defer rc.Close()
	return mergeResults(rc, files, multi)
}

// mergeResults merges the results lines; multi: a multi-file input
// (rejected rows name their file, each file has its counts).
func mergeResults(r io.Reader, files []fileSpec, multi bool) (*pipeline.Aggregates, error) {
	agg := &pipeline.Aggregates{}
	var sums []fileSummary
	var days []dayOut
	kahan := map[int32]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<30)
	for sc.Scan() {
		var l resultLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("beam engine: a results line: %w", err)
		}
		var err error
		switch l.Kind {
		case "file":
			var f fileSummary
			err = json.Unmarshal(l.V, &f)
			sums = append(sums, f)
		case "day":
			var d dayOut
			err = json.Unmarshal(l.V, &d)
			days = append(days, d)
		case "kahan":
			var k kahanLine
			err = json.Unmarshal(l.V, &k)
			kahan[k.Date] = k.Sum
		case "counts":
			var c countsLine
			if err = json.Unmarshal(l.V, &c); err == nil {
				switch {
				case c.Tag == tagRow:
					agg.Duplicates = c.Total - c.Distinct
				case c.Tag > tagRow && c.Tag < nTags:
					agg.Distinct[c.Tag-tagDate] = c.Distinct
				}
			}
		default:
			err = fmt.Errorf("unknown kind %q", l.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("beam engine: a %s result: %w", l.Kind, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("beam engine: reading results: %w", err)
	}
	if len(sums) != len(files) {
		return nil, fmt.Errorf("beam engine: results for %d of %d input files", len(sums), len(files))
	}
	slices.SortFunc(sums, func(a, b fileSummary) int { return a.Index - b.Index })
	for _, f := range sums {
		// The first file that failed, in input order, is the error: the
		// native engine stops there too.
		if f.Failed {
			if f.Error != "" {
				return nil, errors.New(f.Error)
			}
			return nil, &pipeline.BadRowError{File: f.Name, Line: f.BadLine, Reason: f.BadReason}
		}
		agg.Rows += f.Rows
		agg.Cleaned += f.Cleaned
		agg.Bytes += f.Bytes
		for c := range agg.Nulls {
			agg.Nulls[c] += f.Nulls[c]
		}
		agg.Amounts.Merge(f.Amounts)
		for _, r := range f.Rejected {
			rr := pipeline.RejectedRow{Line: r.Line, Reason: r.Reason, Raw: r.Raw}
			if multi {
				rr.File = f.Name
			}
			agg.Rejected = append(agg.Rejected, rr)
		}
		if multi {
			spec := files[f.Index]
			agg.Files = append(agg.Files, pipeline.FileStats{
				Name: spec.File.Name, Path: spec.File.Path, Bytes: f.Bytes, Rows: f.Rows, Kept: f.Cleaned, Rejected: int64(len(f.Rejected)),
			})
		}
	}
	for _, d := range days {
		sum := d.Sum
		if d.Fragile {
			fileOrderDates.Add(1)
			k, ok := kahan[d.Date]
			if !ok {
				return nil, fmt.Errorf("beam engine: no file-order sum for a date whose rounding needs one")
			}
			sum = k
		}
		agg.Daily = append(agg.Daily, pipeline.DaySum{Date: d.Date, Sum: sum, Count: d.Count, Products: d.Products})
	}
	return agg, nil
}

// debugOnly hands every record to a logger at debug level (nil: drops it).
type debugOnly struct{ log *slog.Logger }

func (d debugOnly) Enabled(ctx context.Context, _ slog.Level) bool {
	return d.log != nil && d.log.Enabled(ctx, slog.LevelDebug)
}

func (d debugOnly) Handle(ctx context.Context, r slog.Record) error {
	r.Level = slog.LevelDebug
	r.Message = "beam: " + r.Message
	return d.log.Handler().Handle(ctx, r)
}

func (d debugOnly) WithAttrs(as []slog.Attr) slog.Handler {
	if d.log == nil {
		return d
	}
	return debugOnly{slog.New(d.log.Handler().WithAttrs(as))}
}

func (d debugOnly) WithGroup(name string) slog.Handler {
	if d.log == nil {
		return d
	}
	return debugOnly{slog.New(d.log.Handler().WithGroup(name))}
}
