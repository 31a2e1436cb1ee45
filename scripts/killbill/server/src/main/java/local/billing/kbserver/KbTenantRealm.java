package local.billing.kbserver;

import javax.inject.Inject;
import javax.inject.Named;
import javax.sql.DataSource;

import org.apache.shiro.authc.AuthenticationException;
import org.apache.shiro.authc.AuthenticationInfo;
import org.apache.shiro.authc.AuthenticationToken;
import org.apache.shiro.authc.SimpleAuthenticationInfo;
import org.apache.shiro.codec.Base64;
import org.apache.shiro.realm.jdbc.JdbcRealm;
import org.apache.shiro.util.SimpleByteSource;
import org.killbill.billing.platform.glue.KillBillPlatformModuleBase;
import org.killbill.billing.util.config.definition.SecurityConfig;
import org.killbill.billing.util.security.shiro.KillbillCredentialsMatcher;

import com.google.inject.Provider;

/**
 * Checks a tenant's api key and secret against the tenants table. Kill Bill stores a salted hash of the
 * secret and the salt itself base64-encoded.
 */
public class KbTenantRealm extends JdbcRealm {

    public KbTenantRealm(final DataSource dataSource, final SecurityConfig securityConfig) {
        setDataSource(dataSource);
        setAuthenticationQuery("select api_secret, api_salt from tenants where api_key = ?");
        setSaltStyle(SaltStyle.COLUMN);
        setSaltIsBase64Encoded(false);
        setCredentialsMatcher(KillbillCredentialsMatcher.getCredentialsMatcher(securityConfig));
        setAuthenticationCachingEnabled(false);
    }

    @Override
    protected AuthenticationInfo doGetAuthenticationInfo(final AuthenticationToken token) throws AuthenticationException {
        final SimpleAuthenticationInfo info = (SimpleAuthenticationInfo) super.doGetAuthenticationInfo(token);
        if (info != null && info.getCredentialsSalt() != null) {
            info.setCredentialsSalt(new SimpleByteSource(Base64.decode(info.getCredentialsSalt().getBytes())));
        }
        return info;
    }

    public static final class RealmProvider implements Provider<KbTenantRealm> {

        private final DataSource dataSource;
        private final SecurityConfig securityConfig;

        @Inject
        public RealmProvider(@Named(KillBillPlatformModuleBase.SHIRO_DATA_SOURCE_ID) final DataSource dataSource, final SecurityConfig securityConfig) {
            this.dataSource = dataSource;
            this.securityConfig = securityConfig;
        }

        @Override
        public KbTenantRealm get() {
            return new KbTenantRealm(dataSource, securityConfig);
        }
    }
}
