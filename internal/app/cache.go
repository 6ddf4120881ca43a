package app

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"

	"github.com/salesdag/salesdag/internal/cache"
	"github.com/salesdag/salesdag/internal/dbio"
	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// CacheOptions returns the options of a cache for the sales nodes: codecs
// for the six results and for tables (what nodes added through the Go API
// return), the default policies, and the key of the pipeline options. The
// codecs are struct codecs: bit-exact, and a field added to one of these
// types is encoded without anyone remembering to. The caller adds the rest
// (Input, OnEvent) and may change Policy.
//
// The row-level tables (raw and cleaned data) have no codec and are not
// cached: storing them costs more than parsing the file again and would
// put every customer id on disk in the cache; their keys still flow, so
// everything downstream is cached. See the cache section of the README for
// the measurements.
func CacheOptions() (cache.Options, error) {
	var errs []error
	add := func(c cache.Codec, err error) cache.Codec {
		errs = append(errs, err)
		return c
	}
	o := cache.Options{
		Codecs: []cache.Codec{
			add(cache.StructCodec[*pipeline.DailySummary]("daily_sales_summary/v1")),
			add(cache.StructCodec[*pipeline.EnrichedSummary]("enriched_daily_summary/v1")),
			add(cache.StructCodec[*pipeline.WeeklyAggregation]("weekly_aggregation/v1")),
			add(cache.StructCodec[pipeline.QualityMetrics]("data_quality_metrics/v1")),
			add(cache.StructCodec[pipeline.TrendAnalysis]("trend_analysis/v1")),
			add(cache.StructCodec[[]pipeline.TopDay]("top_performing_days/v1")),
			add(cache.StructCodec[*frame.Frame]("frame/v1")),
		},
		Policy: map[string]cache.Policy{
			pipeline.NodeRaw:     cache.PolicyDisable,
			pipeline.NodeCleaned: cache.PolicyDisable,
		},
		// Worker count, chunk size and progress callback do not change
		// results: a rerun with another --workers reuses the cache.
		InputKey: func(_ context.Context, _ string, v any) (string, bool, error) {
			o, ok := v.(pipeline.Options)
			if !ok {
				return "", false, nil
			}
			k, err := cache.ValueKey(o.Identity())
			return k, true, err
		},
	}
	return o, errors.Join(errs...)
}

// OpenCache opens the per-node result cache in dir for a run on input:
// CacheOptions with policy's nodes changed, its events logged. Local state
// never blocks work: a cache that cannot be opened is a warning, and the
// run goes on without it (nil).
func OpenCache(dir string, inputs []string, policy map[string]cache.Policy, log *slog.Logger) (*cache.Cache, error) {
	opts, err := CacheOptions()
	if err != nil {
		return nil, err
	}
	maps.Copy(opts.Policy, policy)
	store, err := cache.Open(dir)
	if err != nil {
		log.Warn("cache not used: running without it", "error", err)
		return nil, nil
	}
	opts.Input = cacheLabel(inputs)
	opts.OnEvent = func(e cache.NodeEvent) {
		switch e.Status {
		case cache.StatusCorrupt: // the error names the file and what was done
			log.Warn("cache repaired", "error", e.Err)
		case cache.StatusError:
			log.Warn("cache not used", "node", e.Node, "status", e.Status, "error", e.Err)
		default:
			log.Debug("cache", "node", e.Node, "status", e.Status, "bytes", e.Bytes, "duration", e.Duration)
		}
	}
	return cache.New(store, opts), nil
}

// cacheLabel names a run's input (its --input values) in its cache
// entries: the absolute path of the file, the files (how many, and their
// directory), the database URL without its password, or the embedded
// sample.
func cacheLabel(inputs []string) string {
	inputs = slices.DeleteFunc(slices.Clone(inputs), func(s string) bool { return s == "" })
	if len(inputs) == 0 {
		return "(embedded sample)"
	}
	input := inputs[0]
	if in, err := ResolveInputs(inputs); err == nil && len(in.Files) > 1 {
		return FilesLabel(in.Files)
	}
	if dbio.IsURL(input) {
		return dbio.Redact(input) // never a password in the cache's listings
	}
	if abs, err := filepath.Abs(input); err == nil {
		return abs
	}
	return input
}
