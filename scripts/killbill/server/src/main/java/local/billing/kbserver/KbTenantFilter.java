package local.billing.kbserver;

import java.io.IOException;

import javax.inject.Inject;
import javax.inject.Singleton;
import javax.servlet.Filter;
import javax.servlet.FilterChain;
import javax.servlet.FilterConfig;
import javax.servlet.ServletException;
import javax.servlet.ServletRequest;
import javax.servlet.ServletResponse;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.apache.shiro.authc.AuthenticationException;
import org.apache.shiro.authc.UsernamePasswordToken;
import org.killbill.billing.jaxrs.resources.JaxrsResource;
import org.killbill.billing.jaxrs.resources.KillBillApiDefinition;
import org.killbill.billing.jaxrs.util.Context;
import org.killbill.billing.server.listeners.KillbillPlatformGuiceListener;
import org.killbill.billing.tenant.api.TenantApiException;
import org.killbill.billing.tenant.api.TenantUserApi;

/**
 * Resolves the tenant from the X-Killbill-ApiKey / X-Killbill-ApiSecret headers and stores it in the
 * request attribute that killbill-jaxrs reads. Paths that need a tenant get a container 401 without it.
 */
@Singleton
public class KbTenantFilter implements Filter {

    /** Request attribute read by org.killbill.billing.jaxrs.util.Context. */
    public static final String TENANT_ATTRIBUTE = "killbill_tenant";

    @Inject
    protected Context context;

    @Inject
    protected TenantUserApi tenantUserApi;

    @Inject
    protected KbTenantRealm tenantRealm;

    @Override
    public void init(final FilterConfig filterConfig) {
    }

    @Override
    public void destroy() {
    }

    @Override
    public void doFilter(final ServletRequest request, final ServletResponse response, final FilterChain chain) throws IOException, ServletException {
        final HttpServletRequest http = (HttpServletRequest) request;
        final String apiKey = http.getHeader(JaxrsResource.HDR_API_KEY);
        final String apiSecret = http.getHeader(JaxrsResource.HDR_API_SECRET);
        if (apiKey == null || apiSecret == null) {
            fail(http, response, chain, String.format("Make sure to set the %s and %s headers", JaxrsResource.HDR_API_KEY, JaxrsResource.HDR_API_SECRET));
            return;
        }
        try {
            tenantRealm.getAuthenticationInfo(new UsernamePasswordToken(apiKey, apiSecret));
        } catch (final AuthenticationException e) {
            fail(http, response, chain, e.getLocalizedMessage());
            return;
        }
        try {
            request.setAttribute(TENANT_ATTRIBUTE, tenantUserApi.getTenantByApiKey(apiKey));
            context.createTenantContextNoAccountId(request);
        } catch (final TenantApiException e) {
            fail(http, response, chain, e.getLocalizedMessage());
            return;
        }
        chain.doFilter(request, response);
    }

    private static void fail(final HttpServletRequest request, final ServletResponse response, final FilterChain chain, final String message) throws IOException, ServletException {
        final String path = request.getPathInfo();
        final String method = request.getMethod();
        final boolean metrics = KillbillPlatformGuiceListener.METRICS_SERVLETS_PATHS.contains(path) && "GET".equalsIgnoreCase(method);
        if (metrics || !KillBillApiDefinition.requiresTenantInformation(path, method)) {
            chain.doFilter(request, response);
        } else {
            ((HttpServletResponse) response).sendError(401, message);
        }
    }
}
