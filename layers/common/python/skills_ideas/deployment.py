"""Names shared by the CDK stack and the operator commands (migrate, admin): the stack of a
stage and the outputs they read from it. Plain data, written down once."""

STACK_NAME = "SkillsIdeas-{stage}"

OUTPUT_API_URL = "ApiUrl"
OUTPUT_CLOUDFRONT_URL = "CloudFrontUrl"
OUTPUT_TABLE = "TableName"
OUTPUT_BUCKET = "CatalogueBucketName"
OUTPUT_CATALOGUE_KEY = "CatalogueKey"
OUTPUT_DISTRIBUTION = "DistributionId"


def stack_name(stage: str) -> str:
    return STACK_NAME.format(stage=stage)
