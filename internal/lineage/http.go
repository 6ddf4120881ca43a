package lineage

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultEndpoint is where Marquez and most backends take events.
const DefaultEndpoint = "api/v1/lineage"

// DefaultHTTPTimeout bounds one request, as the OpenLineage clients do.
const DefaultHTTPTimeout = 5 * time.Second

// HTTPConfig configures an HTTPTransport.
type HTTPConfig struct {
	URL           string // base URL, e.g. http://localhost:5000
	Endpoint      string // default DefaultEndpoint
	APIKey        Secret // sent as "Authorization: Bearer <key>"
	Timeout       time.Duration
	Compression   string // "" or "gzip"
	CustomHeaders map[string]string
	// InsecureSkipVerify turns off TLS certificate checks (the clients'
	// verify: false).
	InsecureSkipVerify bool
	// Client replaces the HTTP client (tests); its Timeout is left alone.
	Client *http.Client
}

// HTTPTransport POSTs each event as JSON to url joined with endpoint the
// way the Python client joins them (see NewHTTPTransport).
type HTTPTransport struct {
	target   string // full URL, may hold userinfo
	display  string // target without credentials
	apiKey   Secret
	timeout  time.Duration
	gzip     bool
	headers  map[string]string
	client   *http.Client
	ownsConn bool
}

// NewHTTPTransport checks cfg and returns the transport.
func NewHTTPTransport(cfg HTTPConfig) (*HTTPTransport, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("lineage: HTTP transport URL %q is not an http(s) URL with a host (example: http://localhost:5000)", redactURL(cfg.URL))
	}
	ep := cmp.Or(cfg.Endpoint, DefaultEndpoint)
	// The Python client posts to urljoin(url, endpoint), and so does this
	// (RFC 3986 resolution): the endpoint replaces the last segment of a
	// URL path without a trailing slash (http://h/prefix + api/v1/lineage
	// is http://h/api/v1/lineage), is appended to one with a trailing slash
	// (http://h/prefix/ + api/v1/lineage), and an endpoint starting with /
	// replaces the whole path.
	ref, err := url.Parse(strings.TrimSpace(ep))
	if err != nil {
		return nil, fmt.Errorf("lineage: HTTP endpoint %q is not a URL path", ep)
	}
	target := u.ResolveReference(ref)
	switch strings.ToLower(cfg.Compression) {
	case "", "none", "gzip":
	default:
		return nil, fmt.Errorf("lineage: HTTP compression %q is not supported (use gzip, or leave it out)", cfg.Compression)
	}
	t := &HTTPTransport{
		target:  target.String(),
		display: target.Redacted(),
		apiKey:  cfg.APIKey,
		timeout: positive(cfg.Timeout, DefaultHTTPTimeout),
		gzip:    strings.EqualFold(cfg.Compression, "gzip"),
		headers: cfg.CustomHeaders,
		client:  cfg.Client,
	}
	if t.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.InsecureSkipVerify {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by configuration
		}
		t.client = &http.Client{Transport: tr}
		t.ownsConn = true
	}
	if t.client.CheckRedirect == nil {
		c := *t.client
		c.CheckRedirect = sameOriginRedirects
		t.client = &c
	}
	return t, nil
}

// String describes the transport without credentials.
func (t *HTTPTransport) String() string {
	var extra []string
	if t.apiKey != "" {
		extra = append(extra, "api key set")
	}
	if t.gzip {
		extra = append(extra, "gzip")
	}
	s := "http(" + t.display
	if len(extra) > 0 {
		s += ", " + strings.Join(extra, ", ")
	}
	return s + ")"
}

// Close releases idle connections.
func (t *HTTPTransport) Close() error {
	if t.ownsConn {
		t.client.CloseIdleConnections()
	}
	return nil
}

// Send POSTs event. Any 2xx is success. 429, 408 and 5xx, timeouts and
// connection errors are retryable; other statuses are not and report the
// first line of the response.
func (t *HTTPTransport) Send(ctx context.Context, event []byte) error {
	body := event
	if t.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(event) // writes to a bytes.Buffer cannot fail
		if err := zw.Close(); err != nil {
			return &DeliveryError{Transport: t.String(), Err: err}
		}
		body = buf.Bytes()
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.target, bytes.NewReader(body))
	if err != nil {
		return &DeliveryError{Transport: t.String(), Err: errors.New(t.redact(err.Error()))}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "salesdag-openlineage")
	if t.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range t.headers {
		req.Header.Set(k, v)
	}
	if t.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+t.apiKey.Reveal())
	}
	resp, err := t.client.Do(req)
	if err != nil {
		// url.Error carries the URL, which may carry userinfo; say it our way.
		cause := err
		var ue *url.Error
		if errors.As(err, &ue) {
			cause = ue.Err
		}
		msg := t.redact(cause.Error())
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			msg = fmt.Sprintf("no response within %s", t.timeout)
		}
		return &DeliveryError{Transport: t.String(), Retryable: true, Detail: msg, Err: errors.New(msg)}
	}
	defer resp.Body.Close()
	// Read a little of the body for the message, then drain the rest so the
	// connection can be reused.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	de := &DeliveryError{
		Transport: t.String(),
		Status:    resp.StatusCode,
		Detail:    t.redact(firstLine(head, resp.Status)),
	}
	if d, ok := redirectDetail(resp); ok {
		de.Detail = t.redact(d)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode >= 500:
		de.Retryable = true
		de.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return de
}

// redact removes the API key from s, in case a server or library echoes it.
func (t *HTTPTransport) redact(s string) string {
	if k := t.apiKey.Reveal(); k != "" {
		s = strings.ReplaceAll(s, k, "***")
	}
	return s
}

func firstLine(body []byte, status string) string {
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !utf8.ValidString(line) {
			break
		}
		if len(line) > 200 {
			line = line[:200] + "..."
		}
		return line
	}
	return status
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}
