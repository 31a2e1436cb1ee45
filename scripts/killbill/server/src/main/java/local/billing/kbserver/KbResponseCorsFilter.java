package local.billing.kbserver;

import java.io.IOException;

import javax.inject.Singleton;
import javax.servlet.Filter;
import javax.servlet.FilterChain;
import javax.servlet.FilterConfig;
import javax.servlet.ServletRequest;
import javax.servlet.ServletResponse;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

/**
 * The CORS headers stock Kill Bill adds to every response (its ResponseCorsFilter, mapped on /*):
 * the request's Origin (or *) is allowed with credentials, and the API's own headers are allowed
 * and exposed.
 */
@Singleton
public class KbResponseCorsFilter implements Filter {

    static final String API_HEADERS = String.join(",",
                                                  "Authorization",
                                                  "Content-Type",
                                                  "Location",
                                                  "X-Killbill-ApiKey",
                                                  "X-Killbill-ApiSecret",
                                                  "X-Killbill-Comment",
                                                  "X-Killbill-CreatedBy",
                                                  "X-Killbill-Pagination-CurrentOffset",
                                                  "X-Killbill-Pagination-MaxNbRecords",
                                                  "X-Killbill-Pagination-NextOffset",
                                                  "X-Killbill-Pagination-NextPageUri",
                                                  "X-Killbill-Pagination-TotalNbRecords",
                                                  "X-Killbill-Reason");

    @Override
    public void init(final FilterConfig filterConfig) {
    }

    @Override
    public void doFilter(final ServletRequest request, final ServletResponse response, final FilterChain chain) throws IOException, javax.servlet.ServletException {
        final String origin = ((HttpServletRequest) request).getHeader("Origin");
        final HttpServletResponse http = (HttpServletResponse) response;
        http.addHeader("Access-Control-Allow-Origin", origin != null ? origin : "*");
        http.addHeader("Access-Control-Allow-Methods", "GET, POST, DELETE, PUT, OPTIONS");
        http.addHeader("Access-Control-Allow-Headers", API_HEADERS);
        http.addHeader("Access-Control-Expose-Headers", API_HEADERS);
        http.addHeader("Access-Control-Allow-Credentials", "true");
        chain.doFilter(request, response);
    }

    @Override
    public void destroy() {
    }
}
