package lineage

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects bounds a chain of redirects within one origin.
const maxRedirects = 10

// sameOriginRedirects is the HTTP client's CheckRedirect: it follows a
// redirect only within the origin (scheme, host and port) of the first
// request, and only when the method stays the same. The API key, the
// custom headers and the URL's user info are meant for that server alone;
// Go's client by itself keeps Authorization on a redirect to another port
// or scheme of the same host. A redirect that turns the POST into a GET
// would drop the event and still look like success. Either way the 3xx is
// not followed and Send reports it.
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if origin(req.URL) != origin(via[0].URL) || req.Method != via[0].Method {
		return http.ErrUseLastResponse
	}
	return nil
}

// origin is scheme://host:port with the default port made explicit.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// redirectDetail describes a redirect that was not followed.
func redirectDetail(resp *http.Response) (string, bool) {
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return "", false
	}
	loc, err := resp.Location()
	if err != nil {
		if errors.Is(err, http.ErrNoLocation) {
			return fmt.Sprintf("redirect (%s) without a Location", resp.Status), true
		}
		return fmt.Sprintf("redirect (%s) to an unreadable Location", resp.Status), true
	}
	return fmt.Sprintf("redirect (%s) to %s not followed: only redirects within %s that keep the POST are; set the lineage URL to the final address",
		resp.Status, loc.Redacted(), origin(resp.Request.URL)), true
}
