package local.billing.kbserver;

import javax.inject.Singleton;
import javax.ws.rs.container.ContainerRequestContext;
import javax.ws.rs.container.ContainerResponseContext;
import javax.ws.rs.container.ContainerResponseFilter;

/** Like the stock server: API responses without a body (201, 204) still carry Content-Type: application/json. */
@Singleton
public class KbDefaultContentTypeFilter implements ContainerResponseFilter {

    @Override
    public void filter(final ContainerRequestContext request, final ContainerResponseContext response) {
        if (response.getHeaderString("Content-Type") == null) {
            response.getHeaders().putSingle("Content-Type", "application/json");
        }
    }
}
