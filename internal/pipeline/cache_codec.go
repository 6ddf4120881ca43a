package pipeline

import (
	"errors"

	"github.com/salesdag/salesdag/internal/cache"
)

// Codecs that let the result cache store the sales nodes' results.
//
// The aggregate tables and JSON results use the cache's reflection codec:
// bit-exact, and a field added to one of these types is encoded without
// anyone remembering to (the type's shape is part of the entry key).
// The row-level tables (RawSales, Sales) are not cached by default (see
// CachePolicies) and their codec, which must reach unexported columns,
// lives in cache_rowcodec.go behind the salesdag_rowcache build tag, so
// that reworking the column layout never breaks the normal build.

// cacheCodecErr is non-nil when a result type cannot use its codec (a
// field the reflection codec does not support); the test reports it.
var cacheCodecErr = errors.Join(
	cache.RegisterStruct[*DailySummary]("daily_sales_summary/v1"),
	cache.RegisterStruct[*EnrichedSummary]("enriched_daily_summary/v1"),
	cache.RegisterStruct[*WeeklyAggregation]("weekly_aggregation/v1"),
	cache.RegisterStruct[QualityMetrics]("data_quality_metrics/v1"),
	cache.RegisterStruct[TrendAnalysis]("trend_analysis/v1"),
	cache.RegisterStruct[[]TopDay]("top_performing_days/v1"),
)
