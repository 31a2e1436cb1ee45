package local.billing.kbserver;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.killbill.billing.osgi.api.Healthcheck;
import org.killbill.billing.osgi.api.OSGIServiceDescriptor;
import org.killbill.billing.osgi.api.OSGIServiceRegistration;

/** Registry of plugin health checks (none are installed on the test server). */
public class KbHealthcheckRegistry implements OSGIServiceRegistration<Healthcheck> {

    private final Map<String, Healthcheck> byName = new ConcurrentHashMap<>();

    @Override
    public void registerService(final OSGIServiceDescriptor descriptor, final Healthcheck service) {
        byName.put(descriptor.getRegistrationName(), service);
    }

    @Override
    public void unregisterService(final String serviceName) {
        byName.remove(serviceName);
    }

    @Override
    public Healthcheck getServiceForName(final String serviceName) {
        if (serviceName == null) {
            throw new IllegalArgumentException("Null healthcheck name");
        }
        return byName.get(serviceName);
    }

    @Override
    public Set<String> getAllServices() {
        return byName.keySet();
    }

    @Override
    public Class<Healthcheck> getServiceType() {
        return Healthcheck.class;
    }
}
