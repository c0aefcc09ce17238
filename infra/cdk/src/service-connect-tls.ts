import { Aws } from 'aws-cdk-lib';
import * as acmpca from 'aws-cdk-lib/aws-acmpca';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * The AWS-managed policy that lets ECS issue and rotate Service Connect's
 * certificates from a Private CA (and use Secrets Manager and KMS for them).
 */
export const SERVICE_CONNECT_TLS_POLICY =
  'service-role/AmazonECSInfrastructureRolePolicyForServiceConnectTransportLayerSecurity';

/**
 * Service Connect TLS (`-c serviceConnectTls=true`): a root AWS Private CA in
 * short-lived certificate mode (the mode AWS recommends for Service
 * Connect: certificates of a few days, rotated by ECS, at a lower price than
 * general-purpose mode), activated with its own self-signed certificate, and
 * the ECS infrastructure role that lets Service Connect issue from it. Each
 * Service Connect endpoint then names the CA and the role (`tls`), and the
 * proxies speak TLS to each other: the traffic between tasks is encrypted
 * and the server side authenticated, with no change in the services, which
 * still talk plain HTTP and gRPC to their local proxy.
 */
export class ServiceConnectTls extends Construct {
  /** The CA's ARN, for each Service Connect endpoint's `tls.awsPcaAuthorityArn`. */
  readonly authorityArn: string;
  /** Assumed by ECS (ecs.amazonaws.com) to issue the certificates. */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const authority = new acmpca.CfnCertificateAuthority(this, 'Authority', {
      type: 'ROOT',
      keyAlgorithm: 'EC_prime256v1',
      signingAlgorithm: 'SHA256WITHECDSA',
      subject: { commonName: 'comms Service Connect', organization: 'comms reference' },
      usageMode: 'SHORT_LIVED_CERTIFICATE',
    });
    const certificate = new acmpca.CfnCertificate(this, 'RootCertificate', {
      certificateAuthorityArn: authority.attrArn,
      certificateSigningRequest: authority.attrCertificateSigningRequest,
      signingAlgorithm: 'SHA256WITHECDSA',
      templateArn: `arn:${Aws.PARTITION}:acm-pca:::template/RootCACertificate/V1`,
      validity: { type: 'YEARS', value: 10 },
    });
    new acmpca.CfnCertificateAuthorityActivation(this, 'Activation', {
      certificateAuthorityArn: authority.attrArn,
      certificate: certificate.attrCertificate,
      status: 'ACTIVE',
    });
    // The CA issues once activated; the services stack, which names it, deploys after this
    // whole stack (its explicit dependency), so after the activation too.
    this.authorityArn = authority.attrArn;
    this.role = new iam.Role(this, 'EcsInfrastructureRole', {
      assumedBy: new iam.ServicePrincipal('ecs.amazonaws.com'),
      description: 'ECS issues Service Connect TLS certificates from the private CA',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName(SERVICE_CONNECT_TLS_POLICY)],
    });
  }
}
