package local.billing.kbserver;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

import javax.inject.Singleton;
import javax.ws.rs.container.ContainerRequestContext;
import javax.ws.rs.container.ContainerRequestFilter;
import javax.ws.rs.container.ContainerResponseContext;
import javax.ws.rs.container.ContainerResponseFilter;

import org.killbill.billing.jaxrs.resources.JaxrsResource;
import org.killbill.commons.request.Request;
import org.killbill.commons.request.RequestData;

/**
 * Per-request data used by Kill Bill (request id → user token), and base64 audit headers when
 * X-Killbill-Encoding: base64 is sent.
 */
@Singleton
public class KbRequestDataFilter implements ContainerRequestFilter, ContainerResponseFilter {

    @Override
    public void filter(final ContainerRequestContext request) {
        String requestId = request.getHeaderString("X-Request-Id");
        if (requestId == null || requestId.isEmpty()) {
            requestId = request.getHeaderString("X-Killbill-Request-Id-Req");
        }
        if (requestId == null || requestId.isEmpty()) {
            requestId = UUID.randomUUID().toString();
        }
        Request.setPerThreadRequestData(new RequestData(requestId));

        if ("base64".equalsIgnoreCase(request.getHeaderString("X-Killbill-Encoding"))) {
            for (final String header : new String[]{JaxrsResource.HDR_CREATED_BY, JaxrsResource.HDR_REASON, JaxrsResource.HDR_COMMENT}) {
                final List<String> values = request.getHeaders().get(header);
                if (values == null) {
                    continue;
                }
                final List<String> decoded = new ArrayList<>();
                for (final String value : values) {
                    try {
                        decoded.add(new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8));
                    } catch (final IllegalArgumentException e) {
                        decoded.add(value);
                    }
                }
                request.getHeaders().put(header, decoded);
            }
        }
    }

    @Override
    public void filter(final ContainerRequestContext request, final ContainerResponseContext response) {
        Request.resetPerThreadRequestData();
    }
}
